// Typeset the math that pymdownx.arithmatex (generic mode) leaves in the
// page as \( ... \) and \[ ... \], with the KaTeX files served by the site
// itself (docs/assets/katex, from the npm package katex 0.16.47, MIT).
document$.subscribe(({ body }) => {
  renderMathInElement(body, {
    delimiters: [
      { left: "\\(", right: "\\)", display: false },
      { left: "\\[", right: "\\]", display: true },
    ],
    throwOnError: true,
  });
});
