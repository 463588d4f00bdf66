/** A file in memory for the commands that write through a sink: what was written, and whether it was closed. */
export function memorySink() {
  const s = { text: '', closed: false };
  return {
    s,
    sink: {
      write: async (t: string) => {
        if (s.closed) throw new Error('write after close');
        s.text += t;
      },
      close: async () => {
        s.closed = true;
      },
    },
  };
}
