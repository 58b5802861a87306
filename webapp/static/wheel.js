// The emotion wheel: the body of the wheel's gr.HTML js_on_load (webapp/ui_picker.py), which Gradio
// runs with `element` (the component's root), `props` (value: the figure JSON; point: the marker;
// seq: the last event the server answered), `trigger` (sends an event) and `watch` (calls back when
// props change).
//
// A press on the plot (mouse, pen or touch) moves the marker there. Released in place, it is a click:
// its exact point goes to the server as the 'click' event {x, y, seq}, which edits there. Moved more
// than DRAG_PX first, it is a drag: the marker follows the pointer, and the points it passes go as
// 'input' events (a quick look: the view, the emotion and the intensity follow); the release sends
// its point as a 'click', which commits it, so the face shown after a drag is the edit at the release.
const host = element.querySelector('.ganmut-wheel');
const mark = element.querySelector('.ganmut-marker');  // drawn over the plot: moving it redraws nothing
const empty = element.querySelector('.ganmut-wheel-empty');
const PAD = 8;
const DRAG_PX = 4;
let P = null;  // plotly.js 4 as served by this app (a gr.Plot would put Gradio's own, older Plotly at window.Plotly)
let shown = null;
let fig = null;
let width = 0;
let point = null;
let press = null;  // the press under way: {id, x, y (client px), dragging}
// The last event wins: one event at a time goes to the server (numbered); an event made while it
// works waits, replacing the one waiting before it (a drag's point never replaces a waiting release),
// and goes when the server answers (echoing the number as props.seq). Gradio's
// trigger_mode='always_last' would re-send the first event's data.
let sent = 0, answered = 0, waiting = null, timer = null;
const PATIENCE_MS = 15000;  // an event unanswered for this long (a server error) no longer holds the next
function send(ev) {
  sent += 1;
  clearTimeout(timer);
  timer = setTimeout(() => { answered = Math.max(answered, sent); flush(); }, PATIENCE_MS);
  host.dataset.sent = String(sent);
  trigger(ev.name, {x: ev.p[0], y: ev.p[1], seq: sent});
}
function flush() {
  if (waiting && answered >= sent) { const ev = waiting; waiting = null; send(ev); }
}
function post(name, p) {
  if (!p) return;
  if (answered >= sent) send({name: name, p: p});
  else if (!(waiting && waiting.name === 'click' && name === 'input')) waiting = {name: name, p: p};
}
function placeMarker() {
  const L = host._fullLayout;
  mark.style.display = fig && L && point ? '' : 'none';
  if (mark.style.display) return;
  mark.style.left = (L.xaxis._offset + L.xaxis.l2p(point[0])) + 'px';
  mark.style.top = (L.yaxis._offset + L.yaxis.l2p(point[1])) + 'px';
}
function moveMarker(p) {
  point = Array.isArray(p) && p.length === 2 ? p : null;
  host.dataset.point = point ? point[0].toFixed(4) + ',' + point[1].toFixed(4) : '';
  placeMarker();
}
function fit() {
  // axes sized to the page: the domain as large as the labels (layout.meta.margin px beyond it) allow
  width = element.clientWidth;
  const f = width < 420 ? 11 / 13 : 1;  // smaller labels on a phone: a larger disc
  (fig.layout.annotations || []).forEach(a => { a.font.size = Math.round(fig.layout.meta.font * f); });
  const m = {x: fig.layout.meta.margin.x * f, y: fig.layout.meta.margin.y * f};
  const maxH = Math.min(560, 0.62 * window.innerHeight);
  const s = Math.max(40, Math.min((width - 2 * PAD) / 2 - m.x, (maxH - 2 * PAD) / 2 - m.y));
  const height = Math.round(2 * (s + m.y + PAD));
  const xr = (width - 2 * PAD) / (2 * s), yr = (height - 2 * PAD) / (2 * s);
  return {width: width, height: height, 'xaxis.range': [-xr, xr], 'yaxis.range': [-yr, yr],
          annotations: fig.layout.annotations};
}
function pointAt(e, inside) {
  // the point under the pointer, in the space's coordinates; with `inside`, null off the plot's area
  const r = host.querySelector('.nsewdrag').getBoundingClientRect();
  const x = e.clientX - r.left, y = e.clientY - r.top;
  if (inside && (x < 0 || y < 0 || x > r.width || y > r.height)) return null;
  return [host._fullLayout.xaxis.p2d(x), host._fullLayout.yaxis.p2d(y)];
}
function onPress(e) {
  if (press || !fig || !host._fullLayout || (e.pointerType === 'mouse' && e.button !== 0)) return;
  const p = pointAt(e, true);
  if (!p) return;
  e.preventDefault();  // no text selection, and no Plotly click or drag of its own
  host.setPointerCapture(e.pointerId);
  press = {id: e.pointerId, x: e.clientX, y: e.clientY, dragging: false};
  moveMarker(p);
}
function onMove(e) {
  if (!press || e.pointerId !== press.id) return;
  if (!press.dragging && Math.hypot(e.clientX - press.x, e.clientY - press.y) < DRAG_PX) return;
  press.dragging = true;
  host.dataset.dragging = '1';
  const p = pointAt(e, false);
  moveMarker(p);
  post('input', p);
}
function unhover(touch) {
  // a drag's end takes Plotly's hover box away: a finger leaves no pointer to move off the wheel, and
  // Plotly takes a finger's drag (its dragmode is off) for a tap, which it answers with the box at the
  // release, in its own touchend handler on the document: for a touch, once that has run too
  P.Fx.unhover(host);
  if (touch) window.addEventListener('touchend', () => P.Fx.unhover(host), {once: true});
}
function onRelease(e) {
  if (!press || e.pointerId !== press.id) return;
  if (press.dragging) unhover(e.pointerType === 'touch');
  press = null;
  delete host.dataset.dragging;
  post('click', point);  // the marker's point: where the press ended
}
host.addEventListener('pointerdown', onPress);
host.addEventListener('pointermove', onMove);
host.addEventListener('pointerup', onRelease);
host.addEventListener('pointercancel', onRelease);  // a gesture the browser took over ends where it was, as a release
function render() {
  if (!window.GanmutPlotly) { setTimeout(render, 50); return; }
  P = window.GanmutPlotly;
  const spec = props.value || '';
  answered = Math.max(answered, props.seq || 0);
  if (answered >= sent) clearTimeout(timer);
  if (spec === shown) {
    if (waiting) flush();
    else if (spec && fig && answered >= sent && !press) moveMarker(props.point);
    return;
  }
  shown = spec;
  press = null;
  if (fig) P.Fx.unhover(host);  // another model's figure: no hover box of the last one
  if (!spec) {
    P.purge(host);
    fig = null;
    placeMarker();
    host.dataset.kind = '';
    host.style.display = 'none';
    empty.style.display = '';
    return;
  }
  host.style.display = '';
  empty.style.display = 'none';
  fig = JSON.parse(spec);
  const size = fit();
  fig.layout.width = size.width;
  fig.layout.height = size.height;
  fig.layout.autosize = false;
  fig.layout.xaxis.range = size['xaxis.range'];
  fig.layout.yaxis.range = size['yaxis.range'];
  fig.config.responsive = false;
  P.react(host, fig.data, fig.layout, fig.config).then(() => {
    host.dataset.kind = fig.layout.meta.kind;
    host.dataset.revision = String(Number(host.dataset.revision || 0) + 1);
    if (!press) moveMarker(answered >= sent && !waiting ? props.point : null);
  });
}
new ResizeObserver(() => {
  if (fig && element.clientWidth && element.clientWidth !== width) P.relayout(host, fit()).then(placeMarker);
}).observe(element);
watch(Object.keys(props), render);
render();
