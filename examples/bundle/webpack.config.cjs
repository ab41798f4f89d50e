// webpack 5 production build of the example app: an entry, node_modules split into `vendors`,
// one chunk per lazily imported route, CSS extracted to a file. OUT_DIR is set by make.sh.
const path = require('path');
const MiniCssExtractPlugin = require('mini-css-extract-plugin');

module.exports = {
  mode: 'production',
  context: __dirname,
  entry: { main: './src/index.js' },
  output: {
    path: path.resolve(process.env.OUT_DIR || 'dist/webpack'),
    filename: '[name].[contenthash:8].js',
    chunkFilename: '[name].[contenthash:8].js',
    clean: true,
  },
  module: { rules: [{ test: /\.css$/, use: [MiniCssExtractPlugin.loader, 'css-loader'] }] },
  plugins: [new MiniCssExtractPlugin({ filename: '[name].[contenthash:8].css' })],
  optimization: {
    splitChunks: { chunks: 'all', cacheGroups: { vendors: { test: /node_modules/, name: 'vendors' } } },
  },
  devtool: false,
};
