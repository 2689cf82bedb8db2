/**
 * Building DOM without HTML strings: every piece of API data reaches the page as a text node or an
 * attribute value, never through innerHTML, so it cannot inject markup.
 */

/**
 * Creates an element.
 * @param {string} tag element name, e.g. "td"
 * @param {Record<string, unknown> | null} [props] `class` (string), `on` ({ click: fn, … }), `dataset`
 *   (object), boolean properties (`hidden`, `disabled`, `open`, `checked`) and other attributes
 *   (set with setAttribute; `null`/`undefined`/`false` skip the attribute)
 * @param {...(Node | string | number | null | undefined | false | Array<unknown>)} children text,
 *   nodes or arrays of them; null/undefined/false are skipped
 * @returns {HTMLElement}
 */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  applyProps(el, props);
  append(el, children);
  return el;
}

/** Like {@link h} for SVG elements (namespace http://www.w3.org/2000/svg). */
export function svg(tag, props, ...children) {
  const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
  applyProps(el, props);
  append(el, children);
  return el;
}

const BOOLEAN_PROPERTIES = new Set(['hidden', 'disabled', 'open', 'checked', 'required']);

function applyProps(el, props) {
  if (!props) return;
  for (const [key, value] of Object.entries(props)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'on') {
      for (const [event, handler] of Object.entries(value)) el.addEventListener(event, handler);
    } else if (key === 'dataset') {
      for (const [name, v] of Object.entries(value)) el.dataset[name] = String(v);
    } else if (BOOLEAN_PROPERTIES.has(key)) {
      el[key] = Boolean(value);
    } else {
      el.setAttribute(key, value === true ? '' : String(value));
    }
  }
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/**
 * Replaces every child of `el` with `children`, in the forms {@link h} takes: null, undefined and
 * false are skipped (the DOM's own `el.replaceChildren` would show them as the text "null").
 * @param {Element} el
 * @param {...(Node | string | number | null | undefined | false | Array<unknown>)} children
 */
export function replaceChildren(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

/**
 * A region re-rendered only when its data changed, so that a poll that brings the same data keeps
 * focus, open expanders and scroll position inside it.
 * @template T
 * @param {(data: T) => Node | Array<Node | string> | string} render builds the region's content
 * @param {Record<string, unknown>} [props] props of the wrapping `<div>` (see {@link h})
 * @returns {{ el: HTMLElement, update(data: T): void }}
 */
export function region(render, props) {
  const el = h('div', props);
  let last;
  return {
    el,
    update(data) {
      const key = JSON.stringify(data);
      if (key === last) return;
      last = key;
      replaceChildren(el, render(data));
    },
  };
}

/**
 * Puts `nodes` into `parent` in this order, keeping the nodes already there (and so their state:
 * focus, open `<details>`) and removing the others. Nodes already in the right relative order are
 * not moved.
 * @param {Element} parent
 * @param {Node[]} nodes
 */
export function reconcileChildren(parent, nodes) {
  const keep = new Set(nodes);
  for (const child of [...parent.childNodes]) if (!keep.has(child)) child.remove();
  let ref = parent.firstChild;
  for (const node of nodes) {
    if (node === ref) ref = ref.nextSibling;
    else parent.insertBefore(node, ref);
  }
}
