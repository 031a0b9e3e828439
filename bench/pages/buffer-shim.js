// nsfwjs imports Buffer only to decode its bundled base64 weights; the benchmark loads
// the model from a URL, so this is never called.
export const Buffer = {
  from() {
    throw new Error('buffer-shim: not used when the model is loaded from a URL');
  },
};
