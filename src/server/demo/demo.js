// The emostream demo page: microphone (getUserMedia + AudioWorklet) or a dropped WAV file,
// streamed as f32le over protocol v1 (JSON encoding); posteriors drawn live on a canvas, one
// column per track (a stereo file with "channels apart" is published with channelMode
// "separate": each channel gets its own events, turns and chart, side by side). Below them, a
// timeline of every turn of the session, one lane per track, and its export as JSON or CSV.
const $ = (id) => document.getElementById(id);
const COLORS = ['#ff6b6b', '#ffd166', '#4fb3ff', '#9be38f', '#c792ea', '#f78c6c', '#89ddff', '#b0bec5'];
const HISTORY_MS = 30000;

const state = {
  ws: null,
  ctx: null,
  source: null,
  node: null,
  stream: null,
  session: null,
  labels: [],
  posteriors: [],
  /** Per channel: { posteriors, emotion, turns, el, lane } (one entry unless channels are kept apart). */
  tracks: [],
  emotion: null,
  end: null,
  /** The latest stream time heard of (ms): the timeline's right edge. */
  streamMs: 0,
  sending: false,
  stopFile: false,
};
// For tests and the curious: what the page has received.
window.emostream = state;

function wsUrl(path = '/v1/stream') {
  const u = new URL(path, location.href);
  u.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const token = new URLSearchParams(location.search).get('token');
  if (token) u.searchParams.set('token', token);
  return u.toString();
}

function status(text) {
  $('status').textContent = text;
}

function log(text, cls = '') {
  const li = document.createElement('li');
  li.textContent = text;
  if (cls) li.className = cls;
  $('log').prepend(li);
  while ($('log').children.length > 60) $('log').lastChild.remove();
}

/** Opens a publishing connection for audio at `sampleRate`; resolves once the server is ready. */
function openSession(sampleRate, source, channels = 1) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl(), 'emostream.v1.json');
    ws.binaryType = 'arraybuffer';
    let ready = false;
    ws.onopen = () => {
      const channelMode = channels > 1 ? 'separate' : 'mix';
      ws.send(
        JSON.stringify({ type: 'start', audio: { sampleRate, encoding: 'f32le', channels }, channelMode, hopMs: 500, minWindowMs: 1000 }),
      );
    };
    ws.onmessage = (ev) => {
      const m = JSON.parse(ev.data);
      if (!ready && m.type === 'ready') {
        ready = true;
        onReady(m, source, channels);
        resolve(ws);
        return;
      }
      if (!ready && m.type === 'error') {
        reject(new Error(`[${m.code}] ${m.message}`));
        return;
      }
      onMessage(m);
    };
    ws.onerror = () => {
      if (!ready) reject(new Error('cannot connect to the server'));
    };
    ws.onclose = (ev) => {
      if (ready) status(`${source}: session ended${ev.code === 1000 ? '' : ` (code ${ev.code}${ev.reason ? `, ${ev.reason}` : ''})`}`);
      if (state.ws === ws) stopAll(false);
    };
  });
}

function onReady(m, source, channels = 1) {
  state.session = m.session;
  state.labels = m.labels;
  state.posteriors = [];
  state.tracks = [];
  $('tracks').innerHTML = '';
  $('lanes').innerHTML = '';
  track(channels - 1);
  state.emotion = null;
  state.end = null;
  state.streamMs = 0;
  drawTimeline();
  status(`${source} → session ${m.session} · ${m.model} (${m.backend})`);
  $('session').textContent = `follow it from a terminal: emostream subscribe ${m.session}`;
  $('legend').innerHTML = m.labels.map((l, i) => `<span style="--c:${COLORS[i % COLORS.length]}">${l}</span>`).join('');
  log(`ready: session ${m.session}, window ${m.windowMs} ms, hop ${m.hopMs} ms`);
}

/** The column of channel `ch`, made on its first message (a subscriber does not know the channel count up front). */
function track(ch) {
  while (state.tracks.length <= ch) {
    const n = state.tracks.length;
    const el = document.createElement('div');
    el.className = 'track';
    el.innerHTML = `<h3></h3><div class="emotion">—</div><div class="confidence">&nbsp;</div><div class="speech">silence</div>
      <canvas height="260" aria-label="posterior probabilities over time, channel ${n}"></canvas><ul class="turns"></ul>`;
    $('tracks').append(el);
    const row = document.createElement('div');
    row.className = 'row';
    row.innerHTML = `<b></b><div class="lane" data-channel="${n}"></div>`;
    $('lanes').append(row);
    state.tracks.push({ posteriors: [], emotion: null, turns: [], el, lane: row.querySelector('.lane') });
    $('tracks').style.setProperty('--n', String(state.tracks.length));
    state.tracks.forEach((t, i) => {
      const name = state.tracks.length > 1 ? `channel ${i}` : '';
      t.el.querySelector('h3').textContent = name;
      t.lane.previousElementSibling.textContent = name;
    });
  }
  return state.tracks[ch];
}

function onMessage(m) {
  const t = 'channel' in m ? track(m.channel) : null;
  const heard = Math.max(state.streamMs, m.endMs ?? m.atMs ?? m.audioMs ?? 0);
  const tag = state.tracks.length > 1 && t ? `ch${m.channel}  ` : '';
  switch (m.type) {
    case 'posterior':
      state.posteriors.push(m);
      t.posteriors.push(m);
      while (t.posteriors.length > 1 && m.endMs - t.posteriors[0].endMs > HISTORY_MS) t.posteriors.shift();
      draw();
      break;
    case 'emotion':
      t.emotion = m.kind === 'end' ? null : m;
      state.emotion = t.emotion;
      t.el.querySelector('.emotion').textContent = t.emotion ? m.label : '—';
      t.el.querySelector('.confidence').textContent = t.emotion ? `confidence ${(m.confidence * 100).toFixed(0)}%` : '\u00a0';
      log(
        `${tag}${(m.atMs / 1000).toFixed(2)} s  ${m.kind} ${m.kind === 'change' ? `${m.previous} → ` : ''}${m.label} (${m.confidence.toFixed(2)})`,
        'emo',
      );
      break;
    case 'speech':
      t.el.querySelector('.speech').textContent = m.active ? 'speaking' : 'silence';
      break;
    case 'utterance': {
      t.turns.push(m);
      const li = document.createElement('li');
      const color = COLORS[state.labels.indexOf(m.label) % COLORS.length];
      li.innerHTML = `<span style="--c:${color}"></span>`;
      li.append(`${(m.startMs / 1000).toFixed(2)}–${(m.endMs / 1000).toFixed(2)} s  ${m.label} (${m.confidence.toFixed(2)})`);
      t.el.querySelector('.turns').prepend(li);
      addTurn(t, m, color);
      log(`${tag}turn ${(m.startMs / 1000).toFixed(2)}–${(m.endMs / 1000).toFixed(2)} s  ${m.label} (${m.confidence.toFixed(2)})`, 'emo');
      break;
    }
    case 'error':
      log(`error [${m.code}] ${m.message}`, 'err');
      break;
    case 'end':
      state.end = m;
      log(`end: ${m.windows} windows, ${(m.audioMs / 1000).toFixed(1)} s of audio`);
      break;
  }
  if (heard > state.streamMs || m.type === 'utterance') {
    state.streamMs = heard;
    drawTimeline();
  }
}

/** A turn's block on its track's lane: the emotion's colour, as opaque as the turn is confident. */
function addTurn(t, m, color) {
  const el = document.createElement('div');
  el.className = 'turn';
  el.dataset.startMs = String(m.startMs);
  el.dataset.endMs = String(m.endMs);
  el.dataset.label = m.label;
  const alpha = Math.round(Math.min(1, Math.max(0, m.confidence)) * 255);
  el.style.background = color + alpha.toString(16).padStart(2, '0');
  el.textContent = m.label;
  el.title = `${(m.startMs / 1000).toFixed(2)}–${(m.endMs / 1000).toFixed(2)} s  ${m.label} (${m.confidence.toFixed(2)})`;
  t.lane.append(el);
  const any = state.tracks.some((x) => x.turns.length);
  $('export-json').disabled = $('export-csv').disabled = !any;
}

/** Every lane from 0 to the latest stream time, so the whole session stays in view as it grows. */
function drawTimeline() {
  const span = Math.max(1000, state.streamMs);
  for (const el of document.querySelectorAll('#lanes .turn')) {
    const start = Number(el.dataset.startMs),
      end = Number(el.dataset.endMs);
    el.style.left = `${(start / span) * 100}%`;
    el.style.width = `${((end - start) / span) * 100}%`;
  }
  // Ticks at a round step, at most ~8 of them.
  const step = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600].find((s) => span / 1000 / s <= 8) ?? 7200;
  let ticks = '';
  for (let s = 0; s * 1000 <= span; s += step) ticks += `<span style="left:${((s * 1000) / span) * 100}%">${s} s</span>`;
  $('axis').innerHTML = ticks;
}

/** The session's turns in stream order (start, then channel) as the text of a JSON or CSV file. */
function exportTurns(format) {
  const turns = state.tracks
    .flatMap((t) => t.turns)
    .map((u) => ({ channel: u.channel ?? 0, startMs: u.startMs, endMs: u.endMs, label: u.label, confidence: u.confidence, probs: u.probs }))
    .sort((a, b) => a.startMs - b.startMs || a.channel - b.channel);
  if (format === 'json') return JSON.stringify({ session: state.session, labels: state.labels, turns }, null, 2) + '\n';
  const cell = (v) => (/[",\r\n]/.test(String(v)) ? `"${String(v).replace(/"/g, '""')}"` : String(v));
  const rows = [['channel', 'startMs', 'endMs', 'label', 'confidence', ...state.labels.map((l) => `p_${l}`)]];
  for (const u of turns) rows.push([u.channel, u.startMs, u.endMs, u.label, u.confidence, ...state.labels.map((l) => u.probs[l] ?? '')]);
  return rows.map((r) => r.map(cell).join(',')).join('\r\n') + '\r\n';
}
state.exportTurns = exportTurns;

function download(format) {
  const blob = new Blob([exportTurns(format)], { type: format === 'json' ? 'application/json' : 'text/csv' });
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = `emostream-${state.session ?? 'session'}-turns.${format}`;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10000);
}

/** Every track's chart, on one time axis. */
function draw() {
  const ends = state.tracks.flatMap((t) => (t.posteriors.length ? [t.posteriors[t.posteriors.length - 1].endMs] : []));
  const tEnd = ends.length ? Math.max(...ends) : HISTORY_MS;
  for (const t of state.tracks) drawTrack(t.el.querySelector('canvas'), t.posteriors, tEnd);
}

function drawTrack(cv, ps, tEnd) {
  const dpr = window.devicePixelRatio || 1;
  const w = cv.clientWidth,
    h = cv.clientHeight;
  if (cv.width !== Math.round(w * dpr)) {
    cv.width = Math.round(w * dpr);
    cv.height = Math.round(h * dpr);
  }
  const g = cv.getContext('2d');
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.clearRect(0, 0, w, h);
  const pad = { l: 36, r: 10, t: 10, b: 24 };
  const tStart = Math.max(0, tEnd - HISTORY_MS);
  const x = (t) => pad.l + ((t - tStart) / Math.max(1, tEnd - tStart)) * (w - pad.l - pad.r);
  const y = (p) => pad.t + (1 - p) * (h - pad.t - pad.b);
  g.strokeStyle = '#263140';
  g.fillStyle = '#8b98a5';
  g.font = '11px system-ui';
  g.lineWidth = 1;
  for (const p of [0, 0.25, 0.5, 0.75, 1]) {
    g.beginPath();
    g.moveTo(pad.l, y(p));
    g.lineTo(w - pad.r, y(p));
    g.stroke();
    g.fillText(p.toFixed(2), 4, y(p) + 4);
  }
  g.fillText(`${(tStart / 1000).toFixed(1)} s`, pad.l, h - 6);
  g.fillText(`${(tEnd / 1000).toFixed(1)} s`, w - pad.r - 40, h - 6);
  state.labels.forEach((label, i) => {
    g.strokeStyle = COLORS[i % COLORS.length];
    g.lineWidth = 2;
    g.beginPath();
    ps.forEach((m, k) => {
      const px = x(m.endMs),
        py = y(m.probs[label] ?? 0);
      if (k === 0) g.moveTo(px, py);
      else g.lineTo(px, py);
    });
    g.stroke();
    for (const m of ps) {
      g.fillStyle = COLORS[i % COLORS.length];
      g.fillRect(x(m.endMs) - 2, y(m.probs[label] ?? 0) - 2, 4, 4);
    }
  });
}

function setBusy(busy) {
  $('mic').disabled = busy;
  $('stop').disabled = !busy;
}

async function startMic() {
  setBusy(true);
  try {
    state.stream = await navigator.mediaDevices.getUserMedia({
      audio: { channelCount: 1, echoCancellation: false, noiseSuppression: false, autoGainControl: false },
    });
    state.ctx = new AudioContext();
    await state.ctx.audioWorklet.addModule('/worklet.js');
    state.ws = await openSession(state.ctx.sampleRate, 'microphone');
    state.source = state.ctx.createMediaStreamSource(state.stream);
    state.node = new AudioWorkletNode(state.ctx, 'pcm-tap');
    state.node.port.onmessage = (ev) => {
      if (state.ws && state.ws.readyState === WebSocket.OPEN) state.ws.send(ev.data.buffer);
    };
    const mute = state.ctx.createGain();
    mute.gain.value = 0; // the worklet must be pulled by the graph, but we do not want to hear ourselves
    state.source.connect(state.node).connect(mute).connect(state.ctx.destination);
  } catch (err) {
    log(`microphone: ${err.message}`, 'err');
    status('microphone unavailable');
    stopAll(true);
  }
}

async function streamFile(file) {
  if (state.sending || state.ws) stopAll(true);
  setBusy(true);
  try {
    const bytes = await file.arrayBuffer();
    const ctx = new AudioContext();
    const audio = await ctx.decodeAudioData(bytes); // any format the browser knows, at ctx's rate
    ctx.close();
    // Channels apart: interleaved as they are (the server keeps one track per channel);
    // otherwise mixed here, so the server gets mono.
    const nch = $('separate').checked ? Math.min(8, audio.numberOfChannels) : 1;
    const frames = audio.length;
    const pcm = new Float32Array(frames * nch);
    for (let c = 0; c < audio.numberOfChannels; c++) {
      const ch = audio.getChannelData(c);
      if (nch > 1) {
        if (c < nch) for (let i = 0; i < frames; i++) pcm[i * nch + c] = ch[i];
      } else for (let i = 0; i < frames; i++) pcm[i] += ch[i] / audio.numberOfChannels;
    }
    state.ws = await openSession(audio.sampleRate, file.name, nch);
    state.sending = true;
    state.stopFile = false;
    const step = Math.round(audio.sampleRate / 10); // 100 ms per message
    const t0 = performance.now();
    for (let i = 0; i < frames && !state.stopFile; i += step) {
      const ws = state.ws;
      if (!ws || ws.readyState !== WebSocket.OPEN) break;
      if ($('fast').checked) {
        while (ws.bufferedAmount > 1 << 20) await new Promise((r) => setTimeout(r, 10));
      } else {
        // Like a live source: a chunk goes out once its last sample has "happened".
        const early = (Math.min(i + step, frames) / audio.sampleRate) * 1000 - (performance.now() - t0);
        if (early > 0) await new Promise((r) => setTimeout(r, early));
      }
      ws.send(pcm.slice(i * nch, (i + step) * nch).buffer);
    }
    state.sending = false;
    if (state.ws && state.ws.readyState === WebSocket.OPEN) state.ws.send(JSON.stringify({ type: 'stop' }));
  } catch (err) {
    state.sending = false;
    log(`${file.name}: ${err.message}`, 'err');
    stopAll(true);
  }
}

function stopAll(sendStop) {
  state.stopFile = true;
  if (state.node) {
    state.node.port.onmessage = null;
    state.node.disconnect();
    state.node = null;
  }
  if (state.source) {
    state.source.disconnect();
    state.source = null;
  }
  if (state.stream) {
    state.stream.getTracks().forEach((t) => t.stop());
    state.stream = null;
  }
  if (state.ctx) {
    state.ctx.close();
    state.ctx = null;
  }
  const ws = state.ws;
  state.ws = null;
  if (ws && sendStop && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: 'stop' }));
  setBusy(false);
}

$('mic').onclick = startMic;
$('export-json').onclick = () => download('json');
$('export-csv').onclick = () => download('csv');
$('stop').onclick = () => stopAll(true);
const drop = $('drop');
drop.onclick = () => $('file').click();
drop.onkeydown = (e) => {
  if (e.key === 'Enter' || e.key === ' ') $('file').click();
};
$('file').onchange = () => {
  const f = $('file').files[0];
  if (f) streamFile(f);
};
drop.ondragover = (e) => {
  e.preventDefault();
  drop.classList.add('over');
};
drop.ondragleave = () => drop.classList.remove('over');
drop.ondrop = (e) => {
  e.preventDefault();
  drop.classList.remove('over');
  const f = e.dataTransfer.files[0];
  if (f) streamFile(f);
};

/** ?subscribe=<session>: watch someone else's session instead of publishing one. */
function watch(session) {
  for (const el of document.querySelectorAll('.controls, #drop, label.opt')) el.style.display = 'none';
  const ws = new WebSocket(wsUrl(`/v1/subscribe/${encodeURIComponent(session)}`), 'emostream.v1.json');
  ws.onmessage = (ev) => {
    const m = JSON.parse(ev.data);
    if (m.type === 'ready') onReady(m, `watching`);
    else onMessage(m);
  };
  ws.onclose = (ev) => status(`watching ${session}: ${ev.code === 1000 ? 'session ended' : `disconnected (code ${ev.code})`}`);
}

const watched = new URLSearchParams(location.search).get('subscribe');
if (watched) watch(watched);
else
  fetch('/healthz')
    .then((r) => r.json())
    .then(
      (h) => status(`ready · ${h.model} (${h.backend})`),
      () => status('server unreachable'),
    );
track(0);
draw();
drawTimeline();
