// Widgets several pages share, written in a page as one element and expanded when the page is
// composed (pages.routes.ts), so their markup (the ids the page scripts look up, the roles and
// classes the styles and screen readers rely on) is stated once:
//
//   <nndl-record-head kind="job" title="Job" cancel="Cancel job"></nndl-record-head>
//     a record's heading, its description, its status badge and its cancel button
//     (ids: job-title, job-spec, job-status, cancel)
//   <nndl-submit label="Start training"></nndl-submit>
//     a form's submit button and the line that reports the submission (ids: submit, submit-status)
//   <nndl-records id="jobs" title="Jobs" caption="Training jobs, newest first" columns="Job|Status|Epoch #|Created"></nndl-records>
//     a card listing records in a table (ids: jobs, jobs-title, jobs-status); a column ending in
//     " #" is numeric (right-aligned); optional: heading="h1" (default h2), hint="…" (a line under
//     the heading; may hold markup)
//
// Values are the page's own text (trusted files of this package), used as they are.

type Attributes = Record<string, string>;

const WIDGETS: Record<string, { required: string[]; optional?: string[]; render: (a: Attributes) => string }> = {
  'record-head': {
    required: ['kind', 'title', 'cancel'],
    render: ({ kind, title, cancel }) => [
      `<h1 id="${kind}-title">${title}</h1>`,
      `<p id="${kind}-spec" class="hint"></p>`,
      '<div class="row">',
      `  <span id="${kind}-status" class="badge" role="status">loading</span>`,
      `  <button id="cancel" type="button" class="danger" hidden>${cancel}</button>`,
      '</div>',
    ].join('\n'),
  },
  submit: {
    required: ['label'],
    render: ({ label }) => [
      '<div class="row">',
      `  <button id="submit" type="submit">${label}</button>`,
      '  <span id="submit-status" role="status" class="error"></span>',
      '</div>',
    ].join('\n'),
  },
  records: {
    required: ['id', 'title', 'caption', 'columns'],
    optional: ['heading', 'hint'],
    render: ({ id, title, caption, columns, heading = 'h2', hint }) => {
      if (heading !== 'h1' && heading !== 'h2') throw new Error(`heading must be h1 or h2, got "${heading}"`);
      const th = columns!.split('|').map((c) => c.trim()).map((c) =>
        c.endsWith(' #') ? `<th scope="col" class="num">${c.slice(0, -2)}</th>` : `<th scope="col">${c}</th>`);
      return [
        `<section class="card" aria-labelledby="${id}-title">`,
        `  <${heading} id="${id}-title">${title}</${heading}>`,
        ...(hint ? [`  <p class="hint">${hint}</p>`] : []),
        '  <div class="table-wrap">',
        `    <table id="${id}" class="cards">`,
        `      <caption class="visually-hidden">${caption}</caption>`,
        `      <thead><tr>${th.join('')}</tr></thead>`,
        '      <tbody></tbody>',
        '    </table>',
        '  </div>',
        `  <p id="${id}-status" class="muted" role="status" aria-live="polite"></p>`,
        '</section>',
      ].join('\n');
    },
  },
};

const ELEMENT = /^([ \t]*)<nndl-([a-z-]+)((?:\s+[a-z]+="[^"]*")*)\s*><\/nndl-\2>$/gm;
const ATTRIBUTE = /([a-z]+)="([^"]*)"/g;

/** The page with each widget element replaced by its markup (indented as the element was). */
export function expandWidgets(page: string, file = 'page'): string {
  const expanded = page.replace(ELEMENT, (_whole, indent: string, name: string, attrs: string) => {
    const widget = WIDGETS[name];
    if (!widget) throw new Error(`${file}: unknown widget <nndl-${name}>`);
    const a: Attributes = Object.fromEntries([...attrs.matchAll(ATTRIBUTE)].map((m) => [m[1]!, m[2]!]));
    const allowed = [...widget.required, ...(widget.optional ?? [])];
    const missing = widget.required.filter((k) => !(k in a));
    const unknown = Object.keys(a).filter((k) => !allowed.includes(k));
    if (missing.length || unknown.length) {
      throw new Error(`${file}: <nndl-${name}> ${missing.length ? `needs ${missing.join(', ')}` : ''}${unknown.length ? ` does not take ${unknown.join(', ')}` : ''}`.trim());
    }
    return widget.render(a).replace(/^/gm, indent);
  });
  const stray = /<nndl-[^>]*>/.exec(expanded);
  if (stray) throw new Error(`${file}: a widget element must stand alone on its line: ${stray[0]}`);
  return expanded;
}
