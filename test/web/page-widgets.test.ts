// The shared page widgets (src/web/page-widgets.ts): each expands to the markup and ids the page
// scripts look up, indented as written; a misspelt widget or attribute, or one not alone on its
// line, is refused (the server composes every page at boot, so it stops there); and the served
// pages carry the ids their scripts need.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { expandWidgets } from '../../src/web/page-widgets.ts';
import { startTestApp } from '../fixtures/test-app.ts';

describe('page widgets', () => {
  test('records: a titled card with a table, its caption, numeric columns right-aligned, a status line', () => {
    const html = expandWidgets('  <nndl-records id="jobs" title="Jobs" caption="Jobs, newest first" columns="Job|Epoch #|Created"></nndl-records>\n');
    assert.match(html, /^ {2}<section class="card" aria-labelledby="jobs-title">\n {4}<h2 id="jobs-title">Jobs<\/h2>\n/);
    assert.match(html, /<table id="jobs" class="cards">/);
    assert.match(html, /<caption class="visually-hidden">Jobs, newest first<\/caption>/);
    assert.match(html, /<thead><tr><th scope="col">Job<\/th><th scope="col" class="num">Epoch<\/th><th scope="col">Created<\/th><\/tr><\/thead>/);
    assert.match(html, /<tbody><\/tbody>/);
    assert.match(html, /<p id="jobs-status" class="muted" role="status" aria-live="polite"><\/p>\n {2}<\/section>\n$/);
    assert.ok(html.split('\n').filter(Boolean).every((line) => line.startsWith('  ')), 'every line keeps the element\'s indent');
  });

  test('records: heading h1 and a hint with markup', () => {
    const html = expandWidgets('<nndl-records id="models" heading="h1" title="Models" hint="The <code>default</code> alias" caption="c" columns="Model"></nndl-records>');
    assert.match(html, /<h1 id="models-title">Models<\/h1>\n {2}<p class="hint">The <code>default<\/code> alias<\/p>/);
    assert.throws(() => expandWidgets('<nndl-records id="m" heading="h3" title="t" caption="c" columns="a"></nndl-records>'), /heading must be h1 or h2/);
  });

  test('record-head and submit: the ids the job and sweep scripts look up', () => {
    const head = expandWidgets('<nndl-record-head kind="sweep" title="Sweep" cancel="Cancel sweep"></nndl-record-head>');
    for (const id of ['sweep-title', 'sweep-spec', 'sweep-status', 'cancel']) assert.match(head, new RegExp(`id="${id}"`));
    assert.match(head, /<button id="cancel" type="button" class="danger" hidden>Cancel sweep<\/button>/);
    const submit = expandWidgets('<nndl-submit label="Start"></nndl-submit>');
    assert.match(submit, /<button id="submit" type="submit">Start<\/button>/);
    assert.match(submit, /<span id="submit-status" role="status" class="error"><\/span>/);
  });

  test('a misspelt widget, a missing or unknown attribute, or a widget inside a line is refused, naming the file', () => {
    assert.throws(() => expandWidgets('<nndl-submitt label="x"></nndl-submitt>', 'a.html'), /a\.html: unknown widget <nndl-submitt>/);
    assert.throws(() => expandWidgets('<nndl-submit></nndl-submit>', 'a.html'), /a\.html: <nndl-submit> needs label/);
    assert.throws(() => expandWidgets('<nndl-submit label="x" colour="red"></nndl-submit>', 'a.html'), /does not take colour/);
    assert.throws(() => expandWidgets('<div><nndl-submit label="x"></nndl-submit></div>', 'a.html'), /must stand alone on its line/);
    assert.equal(expandWidgets('<p>no widgets</p>\n'), '<p>no widgets</p>\n');
  });

  test('the served pages hold the ids their scripts look up, and no widget element is left', async () => {
    const t = await startTestApp('web-widgets');
    try {
      const ids: Record<string, string[]> = {
        '/jobs': ['submit', 'submit-status', 'jobs', 'jobs-status'],
        '/jobs/some-id': ['job-title', 'job-spec', 'job-status', 'cancel'],
        '/sweeps': ['sweep-title', 'sweep-spec', 'sweep-status', 'cancel', 'submit', 'submit-status', 'sweeps', 'sweeps-status'],
        '/models': ['models-title', 'models', 'models-status'],
      };
      for (const [path, want] of Object.entries(ids)) {
        const html = (await request(t.server).get(path).expect(200)).text;
        assert.doesNotMatch(html, /<\/?nndl-/, path);
        for (const id of want) assert.equal(html.match(new RegExp(` id="${id}"`, 'g'))?.length, 1, `${path}: #${id} once`);
      }
    } finally {
      await t.close();
    }
  });
});
