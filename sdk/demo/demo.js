// The demo chat page: the engine runs in a Web Worker (the SDK's worker entry); this thread
// only renders. body[data-state] says what the page is doing (idle, loading, ready,
// generating), for people and tests alike.
import {WebWorkerEngine} from '/sdk/index.js';

import {renderMarkdown} from './markdown.js';

const $ = (id) => document.getElementById(id);
const ui = {
  messages: $('messages'), message: $('message'), send: $('send'), stop: $('stop'), composer: $('composer'),
  load: $('load'), cancelLoad: $('cancel-load'), progressFill: $('progress-fill'), progressText: $('progress-text'),
  backend: $('backend'), speed: $('speed'), system: $('system'), temperature: $('temperature'),
  temperatureValue: $('temperature-value'), maxTokens: $('max-tokens'), newChat: $('new-chat'),
  modelUrl: $('model-url'), modelFile: $('model-file'), backendChoice: $('backend-choice'), defaultModel: $('default-model'),
};

const engine = new WebWorkerEngine(new Worker('/sdk/worker.js', {type: 'module'}));
const history = [];  // {role, content} of the conversation so far
let config = {model: null};
let loaded = false;
let loadAbort = null;

const setState = (state) => {
  document.body.dataset.state = state;
  const busy = state === 'loading' || state === 'generating';
  ui.send.disabled = !loaded || busy;
  ui.stop.hidden = state !== 'generating';
  ui.load.disabled = busy;
  ui.cancelLoad.hidden = state !== 'loading';
  ui.newChat.disabled = busy;
};

const source = () => document.querySelector('input[name=source]:checked').value;

function showSource() {
  for (const s of ['default', 'url', 'file']) document.querySelector(`.source-${s}`).hidden = source() !== s;
}

function chosenModel() {
  switch (source()) {
    case 'url': {
      const url = ui.modelUrl.value.trim();
      if (!url) throw new Error('Enter the URL of a GGUF file.');
      return url;
    }
    case 'file': {
      const file = ui.modelFile.files[0];
      if (!file) throw new Error('Choose a GGUF file.');
      return file;
    }
    default:
      if (!config.model) throw new Error('This server has no default model: pick a URL or a file.');
      return {url: config.model.url, id: config.model.name.replace(/\.gguf$/, ''), ...(config.model.sha256 && {sha256: config.model.sha256})};
  }
}

function setProgress(fraction, text) {
  ui.progressFill.style.width = `${Math.round(fraction * 100)}%`;
  ui.progressText.textContent = text;
}

async function loadModel() {
  let model;
  try {
    model = chosenModel();
  } catch (e) {
    setProgress(0, e.message);
    return;
  }
  loadAbort = new AbortController();
  setState('loading');
  setProgress(0, 'Starting…');
  try {
    const info = await engine.reload(model, {
      backend: ui.backendChoice.value, signal: loadAbort.signal,
      initProgressCallback: (p) => setProgress(p.progress, p.text),
    });
    loaded = true;
    ui.backend.textContent = info.backend === 'webgpu' ? 'WebGPU' : 'CPU · wasm';
    ui.backend.className = `pill ${info.backend}`;
    ui.backend.title = info.backendReason;
    setProgress(1, `${info.modelId} ready on ${info.backend === 'webgpu' ? 'WebGPU' : 'the CPU'}` +
                   `${info.fromCache ? ' (from cache)' : ''} · context ${info.contextWindowSize} tokens`);
  } catch (e) {
    loaded = false;
    setProgress(0, `${e.name}: ${e.message}`);
  } finally {
    loadAbort = null;
    setState(loaded ? 'ready' : 'idle');
  }
}

function addMessage(role, text = '') {
  ui.messages.querySelector('.empty')?.remove();
  const row = document.createElement('div');
  row.className = `message ${role}`;
  row.innerHTML = `<div class="avatar" aria-hidden="true">${role === 'user' ? 'You' : 'AI'}</div>` +
                  '<div class="content"><div class="bubble"></div></div>';
  const bubble = row.querySelector('.bubble');
  if (role === 'user') bubble.textContent = text;
  ui.messages.append(row);
  ui.messages.scrollTop = ui.messages.scrollHeight;
  return {row, bubble};
}

async function send() {
  const text = ui.message.value.trim();
  if (!text || !loaded || document.body.dataset.state === 'generating') return;
  ui.message.value = '';
  autoGrow();
  addMessage('user', text);
  history.push({role: 'user', content: text});
  const {row, bubble} = addMessage('assistant');
  row.classList.add('streaming');
  setState('generating');
  let reply = '';
  let tokens = 0;
  let first = 0;
  let frame = 0;
  const render = () => {
    frame = 0;
    bubble.innerHTML = renderMarkdown(reply);
    ui.messages.scrollTop = ui.messages.scrollHeight;
  };
  try {
    const system = ui.system.value.trim();
    const stream = await engine.chat.completions.create({
      messages: [...(system ? [{role: 'system', content: system}] : []), ...history],
      stream: true, temperature: Number(ui.temperature.value),
      ...(Number(ui.maxTokens.value) > 0 && {max_tokens: Number(ui.maxTokens.value)}),
    });
    let finish = null;
    for await (const chunk of stream) {
      const choice = chunk.choices?.[0];
      if (!choice) continue;
      if (choice.delta?.content) {
        reply += choice.delta.content;
        tokens++;
        first ||= performance.now();
        if (tokens > 1) ui.speed.textContent = `${((tokens - 1) / ((performance.now() - first) / 1000)).toFixed(1)} tok/s`;
        ui.speed.className = 'pill live';
        frame ||= requestAnimationFrame(render);  // one render per frame, however fast tokens come
      }
      finish = choice.finish_reason ?? finish;
    }
    cancelAnimationFrame(frame);
    render();
    history.push({role: 'assistant', content: reply});
    const stats = await engine.runtimeStats();
    ui.speed.textContent = `${stats.decodeTokensPerSecond.toFixed(1)} tok/s`;
    const meta = document.createElement('div');
    meta.className = 'meta';
    meta.textContent = `${stats.completionTokens} tokens · ${stats.decodeTokensPerSecond.toFixed(1)} tok/s · ` +
                       `first token ${Math.round(stats.timeToFirstTokenMs)} ms${finish && finish !== 'stop' ? ` · ${finish}` : ''}`;
    bubble.parentElement.append(meta);
  } catch (e) {
    bubble.classList.add('error');
    bubble.textContent = e.code === 'context_length_exceeded'
        ? `The conversation no longer fits the model's context: start a new chat (or lower "Max reply tokens"). (${e.message})`
        : `${e.name}: ${e.message}`;
    history.pop();
  } finally {
    row.classList.remove('streaming');
    ui.speed.classList.remove('live');
    setState('ready');
    ui.message.focus();
  }
}

function autoGrow() {
  ui.message.style.height = 'auto';
  ui.message.style.height = `${Math.min(ui.message.scrollHeight + 2, 200)}px`;
}

ui.composer.addEventListener('submit', (e) => {
  e.preventDefault();
  void send();
});
ui.message.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    void send();
  }
});
ui.message.addEventListener('input', autoGrow);
ui.stop.addEventListener('click', () => engine.interruptGenerate());
ui.load.addEventListener('click', () => void loadModel());
ui.cancelLoad.addEventListener('click', () => loadAbort?.abort());
ui.temperature.addEventListener('input', () => (ui.temperatureValue.textContent = Number(ui.temperature.value).toFixed(2)));
ui.newChat.addEventListener('click', async () => {
  history.length = 0;
  ui.messages.replaceChildren();
  if (loaded) await engine.resetChat();
});
for (const radio of document.querySelectorAll('input[name=source]')) radio.addEventListener('change', showSource);
document.addEventListener('keydown', (e) => {
  if (e.key === 'Escape' && document.body.dataset.state === 'generating') engine.interruptGenerate();
});

showSource();
setState('idle');
try {
  config = await (await fetch('/config.json')).json();
} catch {
  config = {model: null};
}
if (config.model) {
  ui.defaultModel.textContent = `${config.model.name} · ${(config.model.size / 1048576).toFixed(1)} MiB, served by weblm demo`;
  void loadModel();  // the default model loads at once (from the browser's cache after the first visit)
} else {
  ui.defaultModel.textContent = 'This server has no default model: pick a URL or a file.';
}
