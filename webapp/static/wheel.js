// The emotion wheel: the body of the wheel's gr.HTML js_on_load (webapp/ui_picker.py), which Gradio
// runs with `element` (the component's root), `props` (value: the figure JSON; point: the marker;
// seq: the last click the server answered), `trigger` (sends an event) and `watch` (calls back when
// props change). A click sends its exact point to the server as the 'click' event {x, y, seq}.
const host = element.querySelector('.ganmut-wheel');
const mark = element.querySelector('.ganmut-marker');  // drawn over the plot: moving it redraws nothing
const empty = element.querySelector('.ganmut-wheel-empty');
const PAD = 8;
let P = null;  // plotly.js 4 as served by this app (a gr.Plot would put Gradio's own, older Plotly at window.Plotly)
let shown = null;
let fig = null;
let width = 0;
let point = null;
// The last click wins: one click at a time goes to the server (numbered); a click made while it
// works waits, replacing any click waiting before it, and goes when the server answers (echoing
// the number as props.seq). Gradio's trigger_mode='always_last' would re-send the first click's data.
let sent = 0, answered = 0, waiting = null, timer = null;
const PATIENCE_MS = 15000;  // a click unanswered for this long (a server error) no longer holds the next
function send(p) {
  sent += 1;
  clearTimeout(timer);
  timer = setTimeout(() => { answered = Math.max(answered, sent); flush(); }, PATIENCE_MS);
  trigger('click', {x: p[0], y: p[1], seq: sent});
}
function flush() {
  if (waiting && answered >= sent) { const p = waiting; waiting = null; send(p); }
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
function onClick(d) {
  // the point under the pointer, from the click's own pixel position (not the last hover's)
  const e = d && d.event;
  if (!e || !host._fullLayout) return;
  const r = host.querySelector('.nsewdrag').getBoundingClientRect();
  const x = host._fullLayout.xaxis.p2d(e.clientX - r.left);
  const y = host._fullLayout.yaxis.p2d(e.clientY - r.top);
  if (answered < sent) waiting = [x, y]; else send([x, y]);
  moveMarker([x, y]);
}
function render() {
  if (!window.GanmutPlotly) { setTimeout(render, 50); return; }
  P = window.GanmutPlotly;
  const spec = props.value || '';
  answered = Math.max(answered, props.seq || 0);
  if (answered >= sent) clearTimeout(timer);
  if (spec === shown) {
    if (waiting) flush();
    else if (spec && fig && answered >= sent) moveMarker(props.point);
    return;
  }
  shown = spec;
  if (!spec) {
    P.purge(host);
    fig = null;
    placeMarker();
    delete host.dataset.bound;
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
    if (!host.dataset.bound) { host.on('plotly_click', onClick); host.dataset.bound = '1'; }
    host.dataset.kind = fig.layout.meta.kind;
    host.dataset.revision = String(Number(host.dataset.revision || 0) + 1);
    moveMarker(answered >= sent && !waiting ? props.point : null);
  });
}
new ResizeObserver(() => {
  if (fig && element.clientWidth && element.clientWidth !== width) P.relayout(host, fit()).then(placeMarker);
}).observe(element);
watch(Object.keys(props), render);
render();
