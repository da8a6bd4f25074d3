// The WebAssembly JS API is a Node global, but @types/node 20 leaves its types to lib.dom.
// This declares the part callbridge uses (src/audio/fir-kernel.ts). Delete once @types/node
// ships them (it does from v22's typings).
declare namespace WebAssembly {
  class Module {
    constructor(bytes: BufferSource);
  }
  class Instance {
    constructor(module: Module, imports?: Record<string, Record<string, unknown>>);
    readonly exports: Record<string, unknown>;
  }
  class Memory {
    readonly buffer: ArrayBuffer;
    grow(deltaPages: number): number;
  }
  function validate(bytes: BufferSource): boolean;
}
