/* Coursewright read-only JSON viewer.
 *
 * Enhances every <section data-json-viewer> holding a <script type="application/json"> data block
 * and a <pre class="json-fallback">. Works under `script-src 'self'; style-src 'self'`: no inline
 * styles, no eval, and untrusted data only ever reaches the page through textContent.
 * Styles live in app.css under "JSON viewer".
 */
(function () {
  'use strict';

  var CHUNK = 2000;          // children rendered per node before a "Show more" button
  var OPEN_DEPTH = 2;        // levels open on first render (the root is level 0)
  var AUTO_OPEN_LIMIT = 3000; // stop auto-opening levels once this many entries are on the page
  var EXPAND_LIMIT = 5000;   // most sections a single "Expand all" will open
  var STATUS_MS = 2500;

  var nodes = new WeakMap(); // <details> -> { value, depth, keys, done, list, more, viewer }

  function el(tag, cls, text) {
    var n = document.createElement(tag);
    if (cls) n.className = cls;
    if (text != null) n.textContent = text;
    return n;
  }
  function count(n, one, many) { return n.toLocaleString('en') + ' ' + (n === 1 ? one : many); }
  function isContainer(v) { return v !== null && typeof v === 'object'; }
  function sizeOf(v) { return Array.isArray(v) ? v.length : Object.keys(v).length; }

  function scalar(v) {
    var type = v === null ? 'null' : typeof v; // string | number | boolean | null
    return el('span', 'jv-val jv-' + type, type === 'string' ? JSON.stringify(v) : String(v));
  }

  // One entry: a plain line for scalars and empty containers, a <details> for everything else.
  // key is null for the root, an index for array items, a property name otherwise.
  function entry(tag, key, isIndex, value, depth, viewer) {
    var item = el(tag, 'jv-entry');
    var head = item, details = null;
    viewer.rendered++;
    if (isContainer(value) && sizeOf(value) > 0) {
      details = el('details', 'jv-node');
      head = el('summary');
      details.appendChild(head);
      item.appendChild(details);
      nodes.set(details, { value: value, depth: depth, done: 0, viewer: viewer });
    } else {
      item.className += ' jv-leaf';
    }
    if (key !== null) {
      var label = isIndex ? String(key) : (key === '' ? '""' : key);
      head.appendChild(el('span', isIndex ? 'jv-key jv-index' : 'jv-key', label));
      head.appendChild(el('span', 'jv-punct', ': '));
    }
    if (!details) {
      head.appendChild(isContainer(value) ? el('span', 'jv-meta', Array.isArray(value) ? '[]' : '{}') : scalar(value));
      return item;
    }
    var n = sizeOf(value);
    head.appendChild(el('span', 'jv-meta',
      Array.isArray(value) ? '[' + count(n, 'item', 'items') + ']' : '{' + count(n, 'key', 'keys') + '}'));
    if (depth < OPEN_DEPTH && viewer.rendered < AUTO_OPEN_LIMIT) open(details);
    return item;
  }

  function open(details) {
    ensureRendered(details);
    details.open = true;
  }

  // Children are built the first time a node is opened, so closed branches cost nothing.
  function ensureRendered(details) {
    var st = nodes.get(details);
    if (!st || st.list) return;
    if (!Array.isArray(st.value)) st.keys = Object.keys(st.value);
    st.list = el('ul', 'jv-children');
    details.appendChild(st.list);
    renderMore(details);
  }

  function renderMore(details) {
    var st = nodes.get(details);
    var isArr = !st.keys, total = isArr ? st.value.length : st.keys.length;
    var end = Math.min(st.done + CHUNK, total), frag = document.createDocumentFragment();
    for (var i = st.done; i < end; i++) {
      var key = isArr ? i : st.keys[i];
      frag.appendChild(entry('li', key, isArr, st.value[key], st.depth + 1, st.viewer));
    }
    st.done = end;
    st.list.insertBefore(frag, st.more || null);
    var left = total - end;
    if (left > 0) {
      if (!st.more) {
        st.more = el('li', 'jv-more');
        var btn = el('button', 'jv-btn');
        btn.type = 'button';
        btn.addEventListener('click', function () { renderMore(details); });
        st.more.appendChild(btn);
        st.list.appendChild(st.more);
      }
      st.more.firstChild.textContent = 'Show ' + Math.min(CHUNK, left).toLocaleString('en') +
        ' more (' + left.toLocaleString('en') + ' not shown)';
    } else if (st.more) {
      var hadFocus = st.more.contains(document.activeElement);
      st.more.remove();
      st.more = null;
      if (hadFocus) details.querySelector('summary').focus();
    }
  }

  function expandAll(tree) {
    var opened = 0, closed;
    do {
      closed = tree.querySelectorAll('details:not([open])');
      for (var i = 0; i < closed.length && opened < EXPAND_LIMIT; i++, opened++) open(closed[i]);
    } while (closed.length && opened < EXPAND_LIMIT);
    return tree.querySelector('details:not([open])') === null;
  }

  function collapseAll(tree) {
    var all = tree.querySelectorAll('details[open]');
    for (var i = 0; i < all.length; i++) if (all[i] !== tree.firstChild.firstChild) all[i].open = false;
  }

  function copyText(text, done) {
    function fallback() {
      var ta = el('textarea', 'jv-copybuf'), ok = false, back = document.activeElement;
      ta.readOnly = true;
      ta.tabIndex = -1;
      ta.setAttribute('aria-hidden', 'true');
      ta.value = text;
      document.body.appendChild(ta);
      try {
        ta.select();
        ok = document.execCommand('copy');
      } catch (e) {
        ok = false;
      } finally {
        ta.remove();
        if (back && back.focus) back.focus();
      }
      done(ok);
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () { done(true); }, fallback);
    } else {
      fallback();
    }
  }

  function download(text, name) {
    var url = URL.createObjectURL(new Blob([text], { type: 'application/json' }));
    var a = el('a');
    a.href = url;
    a.download = name;
    a.click();
    setTimeout(function () { URL.revokeObjectURL(url); }, 30000);
  }

  function fileName(section) {
    var raw = (section.getAttribute('data-filename') || '').replace(/[\\/:*?"<>|\u0000-\u001f]+/g, '_').trim();
    return raw || 'data.json';
  }

  function button(label, onClick) {
    var b = el('button', 'jv-btn', label);
    b.type = 'button';
    b.addEventListener('click', onClick);
    return b;
  }

  function showError(section, message) {
    var p = el('p', 'error jv-error',
      'This JSON could not be shown as a tree (' + message + '). The raw text is shown instead.');
    var pre = section.querySelector('.json-fallback');
    section.insertBefore(p, pre || null);
  }

  function enhance(section) {
    if (section.hasAttribute('data-json-viewer-ready')) return;
    section.setAttribute('data-json-viewer-ready', '');
    var block = section.querySelector('script[type="application/json"]');
    var data;
    try {
      if (!block) throw new Error('no data block');
      data = JSON.parse(block.textContent);
    } catch (e) {
      showError(section, e.message);
      return;
    }

    var pretty = null, timer = null;
    function prettyText() { return pretty === null ? (pretty = JSON.stringify(data, null, 2)) : pretty; }

    var status = el('span', 'jv-status');
    status.setAttribute('role', 'status');
    status.setAttribute('aria-live', 'polite');
    function say(msg, transient) {
      clearTimeout(timer);
      status.textContent = msg;
      if (transient) timer = setTimeout(function () { status.textContent = ''; }, STATUS_MS);
    }

    var tree = el('div', 'jv-tree');
    var bar = el('div', 'jv-toolbar');
    bar.setAttribute('role', 'group');
    bar.setAttribute('aria-label', (section.getAttribute('aria-label') || 'JSON') + ' actions');
    if (isContainer(data) && sizeOf(data) > 0) { // nothing to expand for a scalar or empty root
      bar.appendChild(button('Expand all', function () {
        if (!expandAll(tree)) say('Opened the first ' + EXPAND_LIMIT.toLocaleString('en') +
          ' sections; open the rest individually.', false);
      }));
      bar.appendChild(button('Collapse all', function () { collapseAll(tree); say('', false); }));
    }
    bar.appendChild(button('Copy', function () {
      copyText(prettyText(), function (ok) { say(ok ? 'Copied' : 'Copy failed; use Download instead', true); });
    }));
    bar.appendChild(button('Download', function () { download(prettyText(), fileName(section)); }));
    bar.appendChild(status);

    tree.appendChild(entry('div', null, false, data, 0, { rendered: 0 }));
    tree.addEventListener('toggle', function (e) {
      if (e.target.open) ensureRendered(e.target);
    }, true); // toggle does not bubble; capture it for every nested <details>

    section.appendChild(bar);
    section.appendChild(tree);
    section.classList.add('is-enhanced');
  }

  function init() {
    var all = document.querySelectorAll('[data-json-viewer]');
    for (var i = 0; i < all.length; i++) {
      try {
        enhance(all[i]);
      } catch (e) {
        showError(all[i], e && e.message ? e.message : String(e));
      }
    }
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
