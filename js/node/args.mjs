// Command-line options as the native `weblm` tool parses them (src/cli/args.cpp): `-n 64`,
// `--temp=0.7`, flags without values; an argument starting with '-' and a digit is a value, not
// an option. Unknown options are errors that list what the command accepts.

export class Args {
  #specs;
  #values = new Map();  // keyed by the spec's first name
  positional = [];

  // specs: [{names: ['-n', '--n-predict'], value: true, help: '...'}]
  constructor(argv, specs) {
    this.#specs = specs;
    for (let i = 0; i < argv.length; i++) {
      const a = argv[i];
      if (a.length < 2 || a[0] !== '-' || (a[1] >= '0' && a[1] <= '9')) {
        this.positional.push(a);
        continue;
      }
      const eq = a.indexOf('=');
      const inline = a.startsWith('--') && eq >= 0;
      const name = inline ? a.slice(0, eq) : a;
      const spec = this.#spec(name);
      let value = '1';
      if (spec.value) {
        if (inline) value = a.slice(eq + 1);
        else if (i + 1 >= argv.length) throw new Error(`option ${name} needs a value`);
        else value = argv[++i];
      } else if (inline) {
        throw new Error(`option ${name} takes no value`);
      }
      this.#values.set(spec.names[0], value);
    }
  }

  #spec(name) {
    const spec = this.#specs.find((s) => s.names.includes(name));
    if (!spec) throw new Error(`unknown option ${name}\n${this.usage()}`);
    return spec;
  }

  usage() {
    return 'options:\n' + this.#specs.map((s) => `  ${s.names.join(', ')}${s.value ? ' VALUE' : ''}\n      ${s.help}\n`).join('');
  }

  has(name) {
    return this.#values.has(this.#spec(name).names[0]);
  }

  str(name, fallback) {
    const v = this.#values.get(this.#spec(name).names[0]);
    return v === undefined ? fallback : v;
  }

  required(name) {
    const v = this.str(name);
    if (v === undefined) throw new Error(`missing required option ${name}\n${this.usage()}`);
    return v;
  }

  integer(name, fallback) {
    const v = this.str(name);
    if (v === undefined) return fallback;
    if (!/^[+-]?\d+$/.test(v)) throw new Error(`option ${name} expects an integer, got '${v}'`);
    return Number(v);
  }

  number(name, fallback) {
    const v = this.str(name);
    if (v === undefined) return fallback;
    const x = Number(v);
    if (v.trim() === '' || Number.isNaN(x)) throw new Error(`option ${name} expects a number, got '${v}'`);
    return x;
  }
}

// "1,2,3" -> ids; Error naming the bad item.
export function parseIds(text) {
  return text.split(',').map((item) => {
    if (!/^\d+$/.test(item) || Number(item) > 0x7fffffff) throw new Error(`token id list: '${item}' is not a token id`);
    return Number(item);
  });
}
