// llama.cpp's tokenizer on a GGUF (node-llama-cpp, prebuilt llama.cpp, vocabulary only).
//   node llama_tokenize.mjs MODEL.gguf TEXTS.json OUT.json
// writes, per text, the ids without and with special-token parsing and the detokenized text,
// and for the vocabulary its special ids, end-of-generation set, every token's piece and
// attributes. As a module: llamaTokenize(llama, modelPath, texts) returns the same object.
import fs from 'node:fs';
import {fileURLToPath} from 'node:url';
import {getLlama, LlamaLogLevel} from 'node-llama-cpp';

const kAttributeNames = ['unknown', 'unused', 'normal', 'control', 'userDefined', 'byte', 'lstrip', 'rstrip'];

export async function llamaTokenize(llama, modelPath, texts) {
  const model = await llama.loadModel({modelPath, vocabOnly: true});
  try {
    const n = model.fileInfo.metadata.tokenizer.ggml.tokens.length;
    const results = texts.map((text) => {
      const special = model.tokenize(text, true);
      return {
        plain: model.tokenize(text, false),
        special,
        decode: model.detokenize(special, false),
        decode_special: model.detokenize(special, true),
      };
    });
    const eog = [];
    const pieces = [];
    const piecesSpecial = [];
    const attributes = [];
    for (let id = 0; id < n; id++) {
      if (model.isEogToken(id)) eog.push(id);
      pieces.push(model.detokenize([id], false));
      piecesSpecial.push(model.detokenize([id], true));
      const a = model.getTokenAttributes(id);
      attributes.push(kAttributeNames.filter((name) => a[name]).join(','));
    }
    return {
      n_vocab: n,
      bos: model.tokens.bos ?? -1,
      eos: model.tokens.eos ?? -1,
      eot: model.tokens.eot ?? -1,
      add_bos: model.tokens.shouldPrependBosToken,
      add_eos: model.tokens.shouldAppendEosToken,
      eog,
      texts: results,
      pieces,
      pieces_special: piecesSpecial,
      attributes,
    };
  } finally {
    await model.dispose();
  }
}

export {kAttributeNames};

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [modelPath, textsPath, outPath] = process.argv.slice(2);
  if (!outPath) throw new Error('usage: node llama_tokenize.mjs MODEL.gguf TEXTS.json OUT.json');
  const llama = await getLlama({gpu: false, build: 'never', logLevel: LlamaLogLevel.error});
  const texts = JSON.parse(fs.readFileSync(textsPath, 'utf8'));
  fs.writeFileSync(outPath, JSON.stringify(await llamaTokenize(llama, modelPath, texts)));
}
