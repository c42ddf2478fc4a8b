// Draws the page's Mermaid diagrams.
//
// mdbook-mermaid's own set-up loads the 2.6 MB Mermaid library on every page.
// This script is the only one every page loads (about 2 KB); it fetches the
// library only when the page has a diagram, so the other chapters weigh what a
// stock mdBook page weighs.
(() => {
    'use strict';

    const diagrams = document.querySelectorAll('pre.mermaid');
    if (diagrams.length === 0) {
        return;
    }

    const html = document.documentElement;
    const darkThemes = ['ayu', 'coal', 'navy'];
    const isDark = () => darkThemes.some((theme) => html.classList.contains(theme));
    const drawnDark = isDark();

    // The print page calls `window.print()` as soon as it has loaded, before
    // the diagrams are drawn; until they are, a print waits for them.
    let diagramsDone;
    const drawn = new Promise((resolve) => {
        diagramsDone = resolve;
    });
    const printNow = window.print.bind(window);
    window.print = () => {
        drawn.then(printNow);
    };

    const library = document.createElement('script');
    // `path_to_root` is set by mdBook's page template.
    library.src = path_to_root + 'mermaid.min.js';
    library.onerror = diagramsDone;
    library.onload = () => {
        mermaid.initialize({
            startOnLoad: false,
            theme: drawnDark ? 'dark' : 'default',
            // Diagrams are our own text, but keep Mermaid's sandboxing on
            // explicitly rather than trusting its default.
            securityLevel: 'strict',
        });
        mermaid.run({ nodes: diagrams }).finally(diagramsDone);
    };
    document.head.appendChild(library);

    // Mermaid bakes colours into the SVG; when the reader switches between a
    // light and a dark theme, draw again by reloading the page.
    new MutationObserver(() => {
        if (isDark() !== drawnDark) {
            window.location.reload();
        }
    }).observe(html, { attributes: true, attributeFilter: ['class'] });
})();
