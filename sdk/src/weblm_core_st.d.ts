// The single-thread wasm build's module factory (build-wasm/dist/weblm-st.mjs), which the bundler
// resolves 'weblm-core-st' to: the Service Worker bundles it in (see service_worker.ts).
declare const createModule: (options: object) => Promise<unknown>;
export default createModule;
