// vite production build of the example app with a manifest (<outDir>/.vite/manifest.json) and
// node_modules in their own `vendor` chunk, which index.html then modulepreloads.
// OUT_DIR is set by make.sh.
export default {
  logLevel: 'info',
  build: {
    outDir: process.env.OUT_DIR || 'dist/vite',
    emptyOutDir: true,
    manifest: true,
    rolldownOptions: {
      output: {
        codeSplitting: { groups: [{ name: 'vendor', test: /node_modules/ }] },
      },
    },
  },
};
