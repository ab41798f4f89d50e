// Renders a pull-request comment as GitHub does (GFM by `marked`, GitHub's stylesheet from
// `github-markdown-css`) into a page of the given width and font size, in which the browser
// itself finds where each table cell breaks into lines. benches/comment_width.sh runs it.
//
//   node comment_width.js COMMENT.md PAGE.html WIDTH FONT_PX MODULES_DIR
const fs = require('fs');
const [md, out, width, font, modules] = process.argv.slice(2);
const { marked } = require(`${modules}/marked`);
const css = fs.readFileSync(`${modules}/github-markdown-css/github-markdown-light.css`, 'utf8');
const body = marked.parse(fs.readFileSync(md, 'utf8'), { gfm: true });
// For each cell that takes more than one line: the text either side of each line break, and
// whether the break falls between a number and its unit or a sign and its number.
const measure = `
const cells = [];
document.querySelectorAll('table').forEach((table, t) => {
  table.querySelectorAll('td').forEach(td => {
    const walker = document.createTreeWalker(td, NodeFilter.SHOW_TEXT);
    const chars = [];
    for (let node; (node = walker.nextNode()); ) {
      for (let i = 0; i < node.data.length; i++) {
        const r = document.createRange();
        r.setStart(node, i); r.setEnd(node, i + 1);
        const rect = r.getClientRects()[0];
        if (rect) chars.push([node.data[i], Math.round(rect.top)]);
      }
    }
    const text = chars.map(c => c[0]).join('');
    const breaks = [];
    for (let i = 1; i < chars.length; i++) {
      if (chars[i][1] > chars[i - 1][1]) {
        const before = text.slice(0, i).trimEnd(), after = text.slice(i);
        const inside = /[0-9]$/.test(before) && /^[^0-9(]/.test(after)
          || /[▲▼<>=]$/.test(before) && /^[0-9]/.test(after);
        breaks.push({ at: before.slice(-8) + ' | ' + after.slice(0, 8), inside });
      }
    }
    if (breaks.length) cells.push({ table: t, text, breaks });
  });
});
const tables = [...document.querySelectorAll('table')].map(t => ({ width: t.scrollWidth, shown: t.clientWidth }));
document.getElementById('out').textContent = JSON.stringify({ tables, cells });`;
fs.writeFileSync(out, `<!doctype html><meta charset=utf-8><style>${css}
.markdown-body{box-sizing:border-box;width:${width}px;font-size:${font}px}</style>
<body style="margin:0"><article class="markdown-body">${body}</article><pre id=out></pre>
<script>${measure}</script>`);
