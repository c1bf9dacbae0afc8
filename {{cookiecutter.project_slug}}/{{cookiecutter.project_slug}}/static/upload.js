// The upload page's behaviour, layered on a page that works without it.
//
// Without this script the form posts every chosen file to /files in one
// request and the server answers with the page again. With it:
//
//   * choosing, dropping or pasting files (or choosing a folder) uploads each
//     one through tus, the resumable upload protocol (tus-js-client, vendored
//     as tus.min.js), at most PARALLEL_UPLOADS at a time, in chunks under the
//     server's limit: a broken connection is retried with back-off and costs
//     one chunk at most, and after a reload the same file chosen again goes
//     on from where it stopped (tus-js-client keeps its URL in localStorage);
//     without tus.min.js, each file is one multipart request as before;
//   * the upload panel keeps one compact row per file (progress, bytes sent,
//     speed, time left, pause/resume, cancel, retry) and an overall line,
//     and stays in view while the page scrolls;
//   * files the server would refuse (too large, extension not allowed) are
//     refused here, before a byte is sent; the server checks again anyway;
//   * a dropped folder is read recursively (FileSystemDirectoryEntry) and
//     every file in it uploaded, as the "Choose a folder" chooser does;
//   * a stored file joins the top of the table, with its type or thumbnail;
//   * times show in the reader's time zone (UTC in the tooltip); "Copy link"
//     copies a file's URL, "Share link" (accounts) makes and copies one that
//     works without signing in;
//   * deleting asks for confirmation (the <details> in each row already does
//     that without script) and removes the row without reloading; "Select
//     all" and "Delete selected" delete several at once (the form posts the
//     checked ids without script too).
//
// No framework and no build step: plain DOM, loaded with `defer`.
'use strict';

(() => {
  // More parallel requests do not make one connection faster; three keeps
  // every row moving and leaves the browser room for the rest of the page.
  const PARALLEL_UPLOADS = 3;

  // uploads.max_size limits the whole request body: the file plus its
  // multipart envelope (boundary lines and part headers). The headers carry
  // the file name, which the browser may percent-encode (3 bytes a byte).
  const ENVELOPE_BYTES = 512;
  const envelopeSize = (file) => ENVELOPE_BYTES + 3 * new TextEncoder().encode(file.name).length;

  // Speed is measured over the last few seconds, so it follows changes
  // without jumping about on every progress event.
  const SPEED_WINDOW_MS = 3000;

  const form = document.getElementById('upload-form');
  if (!form) return; // the error page has no upload form

  const input = document.getElementById('file-input');
  const dropzone = document.getElementById('dropzone');
  const queue = document.getElementById('upload-queue');
  const fileList = document.getElementById('file-list');
  const noFiles = document.getElementById('no-files');
  const totals = document.getElementById('file-totals');
  const liveStatus = document.getElementById('upload-status');
  const csrfToken = form.elements.csrf_token.value;
  // tus when its client loaded and the browser can run it; the form's way otherwise.
  const tusEndpoint = form.dataset.tusEndpoint;
  const tusChunkSize = Number(form.dataset.tusChunkSize);
  const useTus = Boolean(window.tus && window.tus.isSupported && tusEndpoint && tusChunkSize);
  // Wait this long (ms) before each retry of a failed chunk, then give up and offer "Retry".
  const RETRY_DELAYS = [0, 1000, 3000, 5000, 10000, 20000];
  const limits = {
    maxSize: Number(form.dataset.maxSize),
    maxSizeText: form.dataset.maxSizeText,
    // Empty means every extension is allowed.
    extensions: form.dataset.allowedExtensions.split(/\s+/).filter(Boolean),
  };

  const waiting = []; // uploads not yet started, oldest first
  const uploads = []; // every row in the panel, for the overall line
  let sending = 0; // uploads with a request in flight

  // ---------------------------------------------------------------- helpers

  /** Build an element: el('a', {href: '/x', className: 'y'}, 'text', child). */
  function el(tag, properties = {}, ...children) {
    const element = Object.assign(document.createElement(tag), properties);
    element.append(...children.filter((child) => child !== null));
    return element;
  }

  /** Text only screen readers read, to give a repeated "Delete" its file name. */
  const hiddenText = (text) => el('span', { className: 'visually-hidden', textContent: text });

  /** Sizes as the server writes them (sizes.format_size): "900 bytes", "1.5 MiB". */
  function formatSize(bytes) {
    if (bytes < 1024) return bytes === 1 ? '1 byte' : `${bytes} bytes`;
    const units = ['KiB', 'MiB', 'GiB', 'TiB'];
    let value = bytes / 1024;
    let unit = 0;
    // Compare what will be shown: 1023.96 KiB would read "1024 KiB".
    while (Number(value.toFixed(1)) >= 1024 && unit < units.length - 1) {
      value /= 1024;
      unit += 1;
    }
    return `${value.toFixed(1).replace(/\.0$/, '')} ${units[unit]}`;
  }

  /** "45 s", "3 min 20 s", "2 h 5 min". */
  function formatDuration(seconds) {
    const s = Math.max(1, Math.round(seconds));
    if (s < 60) return `${s} s`;
    if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
    return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  }

  /** "2024-05-01 14:03 UTC" from the ISO time the server stores (UTC). */
  const formatCreated = (iso) => `${iso.slice(0, 16).replace('T', ' ')} UTC`;

  /** The lower-cased last extension, as the server sees it (sanitizer.extension_of). */
  function extensionOf(name) {
    const trimmed = name.replace(/[. ]+$/, '');
    const dot = trimmed.lastIndexOf('.');
    return dot > 0 ? trimmed.slice(dot + 1).toLowerCase() : '';
  }

  /** Say something to screen readers through the page's aria-live region. */
  function announce(text) {
    liveStatus.textContent = text;
  }

  // ------------------------------------------------------ checks before sending

  /** Why the server would refuse this file, in words; null if it would not. */
  function refusal(file) {
    const extension = extensionOf(file.name);
    if (limits.extensions.length && !limits.extensions.includes(extension)) {
      const what = extension ? `.${extension} files are` : 'Files without an extension are';
      return `${what} not accepted; allowed: ${limits.extensions.join(', ')}.`;
    }
    if (useTus && file.size > limits.maxSize) {
      // tus counts the file's own bytes: no form envelope.
      return `Too large: ${formatSize(file.size)}, and the limit is ${limits.maxSizeText} per upload.`;
    }
    if (!useTus && file.size + envelopeSize(file) > limits.maxSize) {
      return file.size > limits.maxSize
        ? `Too large: ${formatSize(file.size)}, and the limit is ${limits.maxSizeText} per upload.`
        : `Too large: the limit of ${limits.maxSizeText} per upload includes about ` +
            `${formatSize(envelopeSize(file))} of form data sent with the file.`;
    }
    return null;
  }

  // ------------------------------------------------------------ upload rows

  /** A row in the upload queue for one file; returns the upload's state object. */
  function createUpload(file) {
    const upload = { file, state: 'waiting', xhr: null, tus: null, samples: [], loaded: 0 };
    upload.progress = el('progress', { max: 100, value: 0 });
    upload.progress.setAttribute('aria-label', `Upload of ${file.name}`);
    upload.percent = el('span', { className: 'upload-percent', textContent: '0%' });
    upload.sent = el('span', { className: 'upload-sent' });
    upload.speed = el('span', { className: 'upload-speed' });
    upload.eta = el('span', { className: 'upload-eta' });
    upload.message = el('p', { className: 'upload-message', textContent: 'Waiting…' });
    upload.button = el('button', { type: 'button', className: 'upload-cancel' });
    upload.button.addEventListener('click', () => cancelOrDismiss(upload));
    // Pause, Resume or Retry, as the state says (tus only: the form's way cannot resume).
    upload.control = el('button', { type: 'button', className: 'upload-control', hidden: true });
    upload.control.addEventListener('click', () => pauseResumeOrRetry(upload));
    upload.row = el(
      'li',
      { className: 'upload' },
      el(
        'div',
        { className: 'upload-head' },
        el('span', { className: 'upload-name', textContent: file.name }),
        el('span', { className: 'upload-size', textContent: formatSize(file.size) }),
        upload.control,
        upload.button,
      ),
      upload.progress,
      el('p', { className: 'upload-stats' }, upload.percent, upload.sent, upload.speed, upload.eta),
      upload.message,
    );
    setState(upload, 'waiting');
    queue.append(upload.row);
    uploads.push(upload);
    return upload;
  }

  // What the row's button says in each state; finished rows say "Dismiss".
  // Once every byte is sent the server is storing the file: a cancel then
  // could not promise that nothing is kept, so none is offered.
  const BUTTON_LABELS = { waiting: 'Cancel', sending: 'Cancel', paused: 'Cancel', storing: 'Storing…' };
  const CONTROL_LABELS = { sending: 'Pause', paused: 'Resume', failed: 'Retry' };

  /** Move an upload to a new state (waiting, sending, storing, done, refused,
   *  failed, cancelled); the row's look (CSS on data-state) and button follow. */
  function setState(upload, state) {
    upload.state = state;
    upload.row.dataset.state = state;
    upload.button.replaceChildren(BUTTON_LABELS[state] || 'Dismiss', hiddenText(` ${upload.file.name}`));
    upload.button.disabled = state === 'storing';
    const control = upload.tus ? CONTROL_LABELS[state] : undefined;
    upload.control.hidden = !control;
    if (control) upload.control.replaceChildren(control, hiddenText(` ${upload.file.name}`));
    showOverall();
  }

  function showProgress(upload, loaded, total) {
    upload.loaded = loaded;
    showOverall();
    const percent = total ? Math.floor((loaded / total) * 100) : 0;
    upload.progress.value = percent;
    upload.percent.textContent = `${percent}%`;
    upload.sent.textContent = `${formatSize(loaded)} of ${formatSize(total)} sent`;

    const now = performance.now();
    upload.samples.push({ time: now, loaded });
    while (now - upload.samples[0].time > SPEED_WINDOW_MS) upload.samples.shift();
    const first = upload.samples[0];
    const seconds = (now - first.time) / 1000;
    if (seconds < 0.2) return; // too soon to say anything true about speed
    const speed = (loaded - first.loaded) / seconds;
    upload.speed.textContent = `${formatSize(Math.round(speed))}/s`;
    upload.eta.textContent = speed > 0 && loaded < total ? `${formatDuration((total - loaded) / speed)} left` : '';
  }

  function showStored(upload, stored) {
    upload.loaded = upload.file.size;
    upload.progress.value = 100;
    upload.percent.textContent = '100%';
    upload.speed.textContent = '';
    upload.eta.textContent = '';
    upload.message.replaceChildren(
      'Stored as ',
      el('strong', { className: 'stored-name', textContent: stored.filename }),
      ` (${formatSize(stored.size)}). SHA-256: `,
      el('code', { className: 'upload-sha256', textContent: stored.sha256 }),
    );
    setState(upload, 'done');
  }

  function showFailure(upload, state, text) {
    upload.speed.textContent = '';
    upload.eta.textContent = '';
    upload.message.textContent = text;
    setState(upload, state);
  }

  // ------------------------------------------------------------- uploading

  /** Add files (from the chooser or a drop) to the queue and start what can start. */
  function addFiles(files) {
    if (!files.length) return;
    let accepted = 0;
    for (const file of files) {
      const upload = createUpload(file);
      const reason = refusal(file);
      if (reason) {
        showFailure(upload, 'refused', reason);
      } else {
        waiting.push(upload);
        accepted += 1;
      }
    }
    const refused = files.length - accepted;
    announce(
      [accepted && `Uploading ${plural(accepted, 'file')}.`, refused && `${plural(refused, 'file')} refused.`]
        .filter(Boolean)
        .join(' '),
    );
    startWaiting();
  }

  const plural = (count, noun) => `${count} ${noun}${count === 1 ? '' : 's'}`;

  function startWaiting() {
    while (sending < PARALLEL_UPLOADS && waiting.length) send(waiting.shift());
  }

  function send(upload) {
    if (useTus) sendTus(upload);
    else sendForm(upload);
  }

  /** One file through tus: created (or found again after a reload), then sent in chunks. */
  function sendTus(upload) {
    sending += 1;
    const { file } = upload;
    upload.tus = new window.tus.Upload(file, {
      endpoint: tusEndpoint,
      chunkSize: tusChunkSize,
      retryDelays: RETRY_DELAYS,
      metadata: { filename: file.name, filetype: file.type || 'application/octet-stream' },
      headers: { 'X-CSRF-Token': csrfToken },
      // The upload's URL is kept in localStorage under the file's fingerprint
      // (name, type, size, last modified): the same file chosen after a reload resumes.
      storeFingerprintForResuming: true,
      removeFingerprintOnSuccess: true,
      // The first chunk goes with the creation request (creation-with-upload):
      // a small file is one request, which keeps hundreds of files at once quick.
      uploadDataDuringCreation: true,
      onProgress: (loaded, total) => showProgress(upload, loaded, total),
      onSuccess: () => tusStored(upload),
      onError: (error) => tusFailed(upload, error),
    });
    setState(upload, 'sending'); // after upload.tus exists: the row offers Pause
    upload.message.textContent = 'Uploading…';
    startTus(upload);
  }

  /** Start, or go on from where the server has it, if this file was sent before. */
  function startTus(upload) {
    upload.tus
      .findPreviousUploads()
      .then((previous) => {
        if (previous.length) {
          upload.tus.resumeFromPreviousUpload(previous[0]);
          upload.message.textContent = 'Resuming where it stopped…';
        }
        upload.tus.start();
        showInterrupted(); // this one is no longer waiting to be chosen again
      })
      .catch((error) => tusFailed(upload, error));
  }

  /** The last chunk is in: the server made it a stored file; show its row. */
  async function tusStored(upload) {
    sending -= 1;
    startWaiting();
    showInterrupted(); // the client forgot the finished upload's URL
    const response = await fetch(upload.tus.url, { headers: { Accept: 'application/json' } }).catch(() => null);
    const answer = response && response.ok ? parseJson(await response.text()) : null;
    if (!answer || !answer.file) {
      showFailure(upload, 'done', 'Stored; reload the page to see it in the list.');
      return;
    }
    showStored(upload, answer.file);
    addStoredFile(answer.file);
    announce(`${answer.file.filename} stored.`);
  }

  function tusFailed(upload, error) {
    if (upload.state === 'sending' || upload.state === 'storing') {
      sending -= 1;
      startWaiting();
    }
    const response = error && error.originalResponse;
    const answer = response && parseJson(response.getBody());
    const reason =
      (answer && answer.error) ||
      (response ? `The server refused the upload (${response.getStatus()}).` : 'The connection to the server failed.');
    showFailure(upload, 'failed', `${reason} Retry goes on from where it stopped.`);
    announce(`${upload.file.name} was not stored: ${reason}`);
  }

  function pauseResumeOrRetry(upload) {
    if (upload.state === 'sending') {
      upload.tus.abort(); // the server keeps what it acknowledged
      sending -= 1;
      upload.speed.textContent = '';
      upload.eta.textContent = '';
      upload.message.textContent = 'Paused.';
      setState(upload, 'paused');
      announce(`Upload of ${upload.file.name} paused.`);
      startWaiting();
    } else if (upload.state === 'paused' || upload.state === 'failed') {
      sending += 1;
      upload.samples = [];
      upload.message.textContent = 'Uploading…';
      setState(upload, 'sending');
      announce(`Upload of ${upload.file.name} resumed.`);
      upload.tus.start();
    }
  }

  // ------------------------------------------------------------ the panel

  // The panel: the overall line and "Clear finished" above the rows, kept in view.
  const panel = el('section', { className: 'upload-panel', hidden: true });
  panel.setAttribute('aria-label', 'Uploads');
  const overall = el('p', { className: 'upload-overall' });
  const clearButton = el('button', { type: 'button', className: 'upload-clear' }, 'Clear finished');
  clearButton.addEventListener('click', clearFinished);
  queue.before(panel);
  panel.append(el('div', { className: 'upload-panel-head' }, overall, clearButton), queue);

  const FINISHED = ['done', 'refused', 'cancelled'];
  let overallPending = false;

  /** "3 of 7 files, 1.2 GiB of 4.0 GiB": once per frame, however many rows report. */
  function showOverall() {
    if (overallPending) return;
    overallPending = true;
    requestAnimationFrame(() => {
      overallPending = false;
      const counted = uploads.filter((upload) => upload.state !== 'refused' && upload.state !== 'cancelled');
      const done = counted.filter((upload) => upload.state === 'done').length;
      const total = counted.reduce((sum, upload) => sum + upload.file.size, 0);
      const loaded = counted.reduce((sum, upload) => sum + Math.min(upload.loaded, upload.file.size), 0);
      overall.textContent = `${done} of ${plural(counted.length, 'file')}, ${formatSize(loaded)} of ${formatSize(total)}`;
      panel.hidden = uploads.length === 0;
      clearButton.disabled = !uploads.some((upload) => FINISHED.includes(upload.state));
    });
  }

  function clearFinished() {
    for (const upload of uploads.filter((item) => FINISHED.includes(item.state))) {
      upload.row.remove();
      uploads.splice(uploads.indexOf(upload), 1);
    }
    showOverall();
    input.focus();
  }

  /** One file, one request: multipart with a single `file` part, JSON back. */
  function sendForm(upload) {
    const xhr = new XMLHttpRequest();
    upload.xhr = xhr;
    sending += 1;
    setState(upload, 'sending');
    upload.message.textContent = 'Uploading…';

    xhr.upload.addEventListener('progress', (event) => showProgress(upload, event.loaded, event.total));
    xhr.upload.addEventListener('load', () => {
      setState(upload, 'storing');
      upload.message.textContent = 'Sent; the server is storing it…';
    });
    xhr.addEventListener('load', () => received(upload, xhr));
    xhr.addEventListener('error', () => connectionFailed(upload));
    xhr.addEventListener('abort', () => showFailure(upload, 'cancelled', 'Cancelled; nothing was stored.'));
    xhr.addEventListener('loadend', () => {
      sending -= 1;
      startWaiting();
    });

    const body = new FormData();
    body.append('file', upload.file, upload.file.name);
    xhr.open('POST', form.action);
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.setRequestHeader('X-CSRF-Token', csrfToken);
    xhr.send(body);
  }

  /** The server answered: 201 with the stored file, or an error in words. */
  function received(upload, xhr) {
    const answer = parseJson(xhr.responseText);
    if (xhr.status === 201 && answer && answer.files) {
      const stored = answer.files[0];
      showStored(upload, stored);
      addStoredFile(stored);
      announce(`${stored.filename} stored.`);
      return;
    }
    const reason = (answer && answer.error) || `The server refused the upload (${xhr.status} ${xhr.statusText}).`;
    showFailure(upload, 'failed', reason);
    announce(`${upload.file.name} was not stored: ${reason}`);
  }

  function connectionFailed(upload) {
    // Before the last byte the server cannot have kept anything; after it,
    // the file may have been stored and only the answer lost.
    const text =
      upload.state === 'storing'
        ? 'The connection failed while the server was storing the file; reload the page to see whether it was stored.'
        : 'The connection to the server failed; nothing was stored. Try again.';
    showFailure(upload, 'failed', text);
    announce(`${upload.file.name}: ${text}`);
  }

  function parseJson(text) {
    try {
      return JSON.parse(text);
    } catch {
      return null; // e.g. a proxy's HTML error page
    }
  }

  function cancelOrDismiss(upload) {
    if (upload.state === 'waiting') {
      waiting.splice(waiting.indexOf(upload), 1);
      showFailure(upload, 'cancelled', 'Cancelled before it started; nothing was sent.');
      announce(`Upload of ${upload.file.name} cancelled.`);
    } else if (upload.tus && (upload.state === 'sending' || upload.state === 'paused' || upload.state === 'failed')) {
      if (upload.state === 'sending') sending -= 1;
      startWaiting();
      upload.button.disabled = true;
      upload.control.hidden = true;
      upload.message.textContent = 'Cancelling…';
      // abort(true) also ends the upload on the server (DELETE): nothing is kept.
      upload.tus
        .abort(true)
        .then(() => showFailure(upload, 'cancelled', 'Cancelled; nothing was stored.'))
        .catch(() => showFailure(upload, 'cancelled', 'Cancelled; what was sent is removed when the upload expires.'))
        .then(() => announce(`Upload of ${upload.file.name} cancelled.`));
    } else if (upload.state === 'sending') {
      upload.xhr.abort(); // the server drops a body that never ends
      announce(`Upload of ${upload.file.name} cancelled.`);
    } else {
      uploads.splice(uploads.indexOf(upload), 1);
      showOverall();
      upload.row.remove();
      input.focus(); // the button that had focus is gone: go back to the chooser
    }
  }

  // ---------------------------------------------------------- stored files

  // The stored files are a table (templates/home.*): one row per file with a
  // checkbox for "Delete selected", a type badge or thumbnail, the name (a
  // download link), size, upload time and the actions. Script adds the
  // reader's local time (UTC in the tooltip), "Copy link", "Select all", and
  // does deletes and share links without leaving the page.

  const fileTable = document.getElementById('file-table');
  const bulkForm = document.getElementById('bulk-form');
  const previews = fileTable.dataset.previews === 'on';
  const thumbnailMaxSize = Number(fileTable.dataset.thumbnailMaxSize);
  const shareLinks = fileTable.dataset.shareLinks === 'on';

  // The type badge, as views/home.py chooses it from the served type.
  const KINDS = { image: ['image', 'IMG'], audio: ['audio', 'AUD'], video: ['video', 'VID'], text: ['text', 'TXT'] };
  const APPLICATION_KINDS = {
    'application/pdf': ['pdf', 'PDF'],
    'application/zip': ['archive', 'ZIP'],
    'application/gzip': ['archive', 'GZ'],
    'application/x-tar': ['archive', 'TAR'],
    'application/x-7z-compressed': ['archive', '7Z'],
    'application/x-xz': ['archive', 'XZ'],
    'application/x-bzip2': ['archive', 'BZ2'],
    'application/zstd': ['archive', 'ZST'],
  };
  const THUMBNAIL_TYPES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'image/avif', 'image/bmp'];

  /** The media type a file is served with (sniffing.served_type): nothing that runs in a page. */
  function servedMediaType(contentType) {
    const type = contentType.split(';')[0].trim().toLowerCase();
    const active =
      /(\+xml|script|html)/.test(type) ||
      ['application/xml', 'text/xml', 'application/wasm', 'application/x-shockwave-flash'].includes(type);
    return active ? 'application/octet-stream' : type;
  }

  /** A row of the stored-files table, the same markup the templates render. */
  function createFileRow(stored) {
    const mediaType = servedMediaType(stored.content_type);
    const major = mediaType.split('/')[0];
    const [kind, badge] = KINDS[major] || APPLICATION_KINDS[mediaType] || ['other', 'FILE'];
    const thumbnail = previews && THUMBNAIL_TYPES.includes(mediaType) && stored.size <= thumbnailMaxSize;
    const player = previews && (major === 'audio' || major === 'video') ? major : null;
    const created = formatCreated(stored.created);

    const select = el('input', { type: 'checkbox', className: 'file-select', name: 'id', value: stored.id });
    select.setAttribute('form', 'bulk-form');
    select.setAttribute('aria-label', `Select ${stored.filename}`);
    const typeCell = thumbnail
      ? el('img', { className: 'thumbnail', src: stored.url, alt: '', title: mediaType, width: 32, height: 32, loading: 'lazy' })
      : el('span', { className: 'file-type', title: mediaType, textContent: badge });
    if (!thumbnail) typeCell.dataset.kind = kind;
    let play = null;
    if (player) {
      const media = el(player, { controls: true, preload: 'none', src: stored.url });
      media.setAttribute('aria-label', stored.filename);
      play = el('details', { className: 'play' }, el('summary', {}, 'Play', hiddenText(` ${stored.filename}`)), media);
    }
    const actions = el(
      'td',
      { className: 'file-actions' },
      el('a', { className: 'download', href: stored.url, download: '' }, 'Download', hiddenText(` ${stored.filename}`)),
    );
    if (shareLinks) actions.append(createShareForm(stored));
    actions.append(
      el(
        'details',
        { className: 'delete' },
        el('summary', {}, 'Delete', hiddenText(` ${stored.filename}`)),
        el(
          'form',
          { className: 'delete-form', method: 'post', action: `${stored.url}/delete` }, // the file_delete route
          el('input', { type: 'hidden', name: 'csrf_token', value: csrfToken }),
          el('button', { type: 'submit', className: 'danger' }, 'Confirm delete', hiddenText(` ${stored.filename}`)),
        ),
      ),
    );
    const nameCell = el(
      'th',
      { className: 'file-name-cell', scope: 'row' },
      el('a', { className: 'file-name', href: stored.url, download: '', textContent: stored.filename }),
      play,
    );
    const row = el(
      'tr',
      { className: 'file' },
      el('td', { className: 'file-check' }, select),
      el('td', { className: 'file-type-cell' }, typeCell),
      nameCell,
      el('td', { className: 'file-size', textContent: formatSize(stored.size) }),
      el(
        'td',
        { className: 'file-when' },
        el('time', { className: 'file-time', dateTime: stored.created, title: created, textContent: created }),
      ),
      actions,
    );
    row.dataset.id = stored.id;
    row.dataset.sha256 = stored.sha256;
    row.dataset.size = String(stored.size);
    enhanceFileRow(row);
    return row;
  }

  /** "Share link" for a file (accounts only: the file_share route). */
  function createShareForm(stored) {
    return el(
      'form',
      { className: 'share-form', method: 'post', action: `${stored.url}/share` },
      el('input', { type: 'hidden', name: 'csrf_token', value: csrfToken }),
      el('button', { type: 'submit' }, 'Share link', hiddenText(` for ${stored.filename}`)),
    );
  }

  function addStoredFile(stored) {
    fileList.prepend(createFileRow(stored)); // newest first, as the server lists them
    showListed();
    countFiles(1, stored.size);
  }

  /** Keep "N files, S in all" (the whole catalogue, not just this page) in step. */
  function countFiles(files, bytes) {
    const count = Number(totals.dataset.count) + files;
    const size = Number(totals.dataset.size) + bytes;
    totals.dataset.count = String(count);
    totals.dataset.size = String(size);
    totals.textContent = `${count} ${count === 1 ? 'file' : 'files'}, ${formatSize(size)} in all`;
  }

  /** The table and "Delete selected" while there are rows; "No files yet." otherwise. */
  function showListed() {
    const any = fileList.rows.length > 0;
    noFiles.hidden = any;
    fileTable.hidden = !any;
    bulkForm.hidden = !any;
    showSelection();
  }

  // ----------------------------------------------------------- local times

  /** A stored file's time in the reader's own time zone, the UTC time in its tooltip. */
  function localizeTime(time) {
    const when = new Date(time.dateTime);
    if (Number.isNaN(when.getTime())) return;
    time.title = formatCreated(time.dateTime);
    time.textContent = when.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
  }

  // -------------------------------------------------- copy link, share link

  /** Put text on the clipboard; false if the browser refuses (no permission, no secure context). */
  const copyText = (text) =>
    navigator.clipboard ? navigator.clipboard.writeText(text).then(() => true, () => false) : Promise.resolve(false);

  /** What the user can copy by hand when the clipboard refuses: the link, selected, in the row. */
  function showLink(row, link) {
    const field = row.querySelector('.file-link') || el('input', { className: 'file-link', type: 'text', readOnly: true });
    field.value = link;
    field.setAttribute('aria-label', 'Link to copy');
    row.querySelector('.file-actions').append(field);
    field.select();
  }

  /** What script adds to a stored file's row: local time, and "Copy link" before the delete. */
  function enhanceFileRow(row) {
    const name = row.querySelector('.file-name');
    localizeTime(row.querySelector('time.file-time'));
    // The file's own URL: it downloads for whoever may see the file (under
    // accounts: you, signed in, or an admin). "Share link" makes one that
    // works for anybody; it is a separate, deliberate step.
    const copy = el('button', { type: 'button', className: 'copy-link' }, 'Copy link', hiddenText(` ${name.textContent}`));
    copy.addEventListener('click', async () => {
      const link = new URL(name.getAttribute('href'), window.location.href).href;
      const copied = await copyText(link);
      copy.replaceChildren(copied ? 'Link copied' : 'Copy failed', hiddenText(` ${name.textContent}`));
      if (!copied) showLink(row, link);
      announce(copied ? `Link to ${name.textContent} copied.` : `Copy the link to ${name.textContent} from the field shown.`);
    });
    row.querySelector('.download').after(copy);
    addKeepButton(row.querySelector('details.delete'));
    // The server's rows have spaces between the actions, the rows script
    // builds none: drop them, so that the buttons are spaced by the style
    // sheet's margins alone and alike in every row.
    const actions = row.querySelector('.file-actions');
    for (const node of [...actions.childNodes]) {
      if (node.nodeType === Node.TEXT_NODE && !node.textContent.trim()) node.remove();
    }
  }

  // A share link (accounts): made by the server, copied to the clipboard;
  // without script the form shows it on the account page.
  fileList.addEventListener('submit', async (event) => {
    const shareForm = event.target.closest('form.share-form');
    if (!shareForm) return;
    event.preventDefault();
    const row = shareForm.closest('tr.file');
    const name = row.querySelector('.file-name').textContent;
    const button = shareForm.querySelector('button');
    const response = await fetch(shareForm.action, {
      method: 'POST',
      headers: { Accept: 'application/json', 'X-CSRF-Token': csrfToken },
      body: new URLSearchParams({ csrf_token: csrfToken }),
    }).catch(() => null);
    const answer = response && parseJson(await response.text());
    if (!response || response.status !== 201 || !answer || !answer.url) {
      const reason = (answer && answer.error) || 'The server could not be reached.';
      showFileError(row, `No share link: ${reason}`);
      announce(`No share link for ${name}: ${reason}`);
      return;
    }
    const copied = await copyText(answer.url);
    button.replaceChildren(copied ? 'Share link copied' : 'Share link made', hiddenText(` for ${name}`));
    if (!copied) showLink(row, answer.url);
    announce(
      `${copied ? 'A share link' : 'The share link shown'} for ${name} downloads it without signing in; ` +
        'revoke it on your account page.',
    );
  });

  // ----------------------------------------------------------------- delete

  // Each row's <details> is the confirmation step: "Delete" opens it and
  // shows "Confirm delete". Script adds a way back ("Keep") and Escape, and
  // deletes without leaving the page.

  function addKeepButton(details) {
    const name = details.closest('tr.file').querySelector('.file-name').textContent;
    const keep = el('button', { type: 'button', className: 'keep' }, 'Keep', hiddenText(` ${name}`));
    keep.addEventListener('click', () => closeConfirmation(details));
    details.querySelector('form').append(keep);
  }

  function closeConfirmation(details) {
    details.open = false;
    details.querySelector('summary').focus();
  }

  // `toggle` does not bubble, so listen in the capture phase.
  fileList.addEventListener(
    'toggle',
    (event) => {
      const details = event.target;
      if (details.matches('details.delete') && details.open) details.querySelector('button[type=submit]').focus();
    },
    true,
  );

  fileList.addEventListener('keydown', (event) => {
    const details = event.target.closest('details.delete[open]');
    if (event.key === 'Escape' && details) closeConfirmation(details);
  });

  fileList.addEventListener('submit', async (event) => {
    const deleteForm = event.target.closest('form.delete-form');
    if (!deleteForm) return;
    event.preventDefault();
    const row = deleteForm.closest('tr.file');
    const name = row.querySelector('.file-name').textContent;
    const response = await fetch(deleteForm.action, {
      method: 'POST',
      headers: { Accept: 'application/json', 'X-CSRF-Token': csrfToken },
    }).catch(() => null);
    if (response && (response.ok || response.status === 404)) {
      removeFileRows([row]); // 404: someone else deleted it first; it is gone either way
      announce(`${name} deleted.`);
    } else {
      const answer = response && parseJson(await response.text());
      const reason = (answer && answer.error) || 'The server could not be reached.';
      showFileError(row, `Not deleted: ${reason}`);
      announce(`${name} was not deleted: ${reason}`);
    }
  });

  function showFileError(row, text) {
    const cell = row.querySelector('.file-name-cell');
    const note = cell.querySelector('.file-error') || cell.appendChild(el('p', { className: 'file-error' }));
    note.textContent = text;
  }

  function removeFileRows(rows) {
    // Keep keyboard users in the table: focus moves to the next row's delete.
    const last = rows[rows.length - 1];
    let next = last.nextElementSibling;
    while (next && rows.includes(next)) next = next.nextElementSibling;
    next = next || [...fileList.rows].reverse().find((row) => !rows.includes(row));
    for (const row of rows) {
      row.remove();
      countFiles(-1, -Number(row.dataset.size));
    }
    showListed();
    (next ? next.querySelector('details.delete summary') : input).focus();
  }

  // ------------------------------------------------------------ bulk delete

  // Without script, "Delete selected" posts the checked rows' ids (their
  // checkboxes belong to #bulk-form) to the files_delete route. Script adds
  // "Select all", says how many are selected, and deletes without leaving the page.
  const bulkDetails = bulkForm.querySelector('details');
  const bulkSummary = bulkDetails.querySelector('summary');
  const bulkConfirm = bulkForm.querySelector('button[type=submit]');
  const selectAll = el('input', { type: 'checkbox', id: 'select-all', className: 'file-select' });
  selectAll.setAttribute('aria-label', 'Select all');
  fileTable.tHead.querySelector('th.file-check').replaceChildren(selectAll);

  const selectedRows = () => [...fileList.rows].filter((row) => row.querySelector('.file-select').checked);

  function showSelection() {
    const count = selectedRows().length;
    const all = fileList.rows.length;
    bulkSummary.replaceChildren(count ? `Delete ${plural(count, 'selected file')}` : 'Delete selected');
    bulkConfirm.replaceChildren(`Confirm: delete ${plural(count, 'file')}`);
    // Nothing selected: nothing to confirm (a <summary> cannot be disabled).
    bulkSummary.setAttribute('aria-disabled', String(count === 0));
    if (count === 0) bulkDetails.open = false;
    selectAll.checked = count > 0 && count === all;
    selectAll.indeterminate = count > 0 && count < all;
  }

  bulkSummary.addEventListener('click', (event) => {
    if (selectedRows().length === 0) {
      event.preventDefault();
      announce('Select the files to delete first.');
    }
  });
  fileList.addEventListener('change', (event) => {
    if (event.target.matches('.file-select')) showSelection();
  });
  selectAll.addEventListener('change', () => {
    for (const box of fileList.querySelectorAll('.file-select')) box.checked = selectAll.checked;
    showSelection();
  });
  bulkDetails.addEventListener('toggle', () => {
    if (bulkDetails.open) bulkConfirm.focus();
  });

  bulkForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    const rows = selectedRows();
    if (!rows.length) return;
    bulkConfirm.disabled = true;
    const body = new URLSearchParams(rows.map((row) => ['id', row.dataset.id]));
    const response = await fetch(bulkForm.action, {
      method: 'POST',
      headers: { Accept: 'application/json', 'X-CSRF-Token': csrfToken },
      body,
    }).catch(() => null);
    bulkConfirm.disabled = false;
    bulkDetails.open = false;
    if (response && response.ok) {
      removeFileRows(rows);
      announce(`${plural(rows.length, 'file')} deleted.`);
      return;
    }
    // All or nothing: the server deleted none of them.
    const answer = response && parseJson(await response.text());
    const reason = (answer && answer.error) || 'The server could not be reached.';
    announce(`Nothing was deleted: ${reason}`);
    showBulkError(`Nothing was deleted: ${reason}${response && response.status === 404 ? ' Reload the page to see what is left.' : ''}`);
  });

  function showBulkError(text) {
    const note = bulkForm.querySelector('.file-error') || bulkForm.appendChild(el('p', { className: 'file-error' }));
    note.textContent = text;
  }

  // -------------------------------------------------- chooser, drop, submit

  input.addEventListener('change', () => {
    addFiles([...input.files]);
    input.value = ''; // lets the same file be chosen again
  });

  // The form's own submit button is for pages without script; here choosing
  // files already starts their uploads.
  form.querySelector('button[type=submit]').hidden = true;
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    addFiles([...input.files]);
    input.value = '';
  });

  const carriesFiles = (event) => event.dataTransfer && [...event.dataTransfer.types].includes('Files');
  let dragDepth = 0; // dragenter/dragleave fire for every child element crossed

  dropzone.addEventListener('dragenter', (event) => {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    dragDepth += 1;
    dropzone.classList.add('dragging');
  });
  dropzone.addEventListener('dragleave', () => {
    dragDepth = Math.max(0, dragDepth - 1);
    if (dragDepth === 0) dropzone.classList.remove('dragging');
  });
  dropzone.addEventListener('dragover', (event) => {
    if (!carriesFiles(event)) return;
    event.preventDefault(); // this is what makes the zone a drop target
    event.dataTransfer.dropEffect = 'copy';
  });
  dropzone.addEventListener('drop', (event) => {
    event.preventDefault();
    dragDepth = 0;
    dropzone.classList.remove('dragging');
    // A dropped folder is an entry to read (its `files` item is the folder
    // itself, which cannot be uploaded). The entries must be taken now:
    // the DataTransfer is emptied once this handler returns.
    const items = [...event.dataTransfer.items].filter((item) => item.kind === 'file');
    const entries = items.map((item) => (item.webkitGetAsEntry ? item.webkitGetAsEntry() : null));
    if (!entries.length || entries.includes(null)) {
      addFiles([...event.dataTransfer.files]); // no entries API: files only, as before
      return;
    }
    announce('Reading the dropped folders…');
    filesFromEntries(entries).then(({ files, unreadable }) => {
      addFiles(files);
      if (unreadable) announce(`${plural(unreadable, 'dropped file')} could not be read and will not be uploaded.`);
    });
  });

  /** Every file under these FileSystemEntry objects, folders read recursively; and how many could not be read. */
  async function filesFromEntries(entries) {
    const files = [];
    let unreadable = 0;
    const pending = [...entries];
    while (pending.length) {
      const entry = pending.shift();
      try {
        if (entry.isFile) files.push(await new Promise((resolve, reject) => entry.file(resolve, reject)));
        else if (entry.isDirectory) pending.push(...(await readAllEntries(entry.createReader())));
      } catch {
        unreadable += 1; // gone since the drop, or not readable
      }
    }
    return { files, unreadable };
  }

  /** A folder's entries: readEntries() gives them in batches (100 in Chromium) until an empty one. */
  async function readAllEntries(reader) {
    const all = [];
    for (;;) {
      const batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
      if (!batch.length) return all;
      all.push(...batch);
    }
  }

  // A file dropped beside the zone would make the browser open it in place
  // of this page, abandoning the uploads: refuse drops everywhere else.
  for (const type of ['dragover', 'drop']) {
    window.addEventListener(type, (event) => {
      if (dropzone.contains(event.target) || !carriesFiles(event)) return;
      event.preventDefault();
      event.dataTransfer.dropEffect = 'none';
    });
  }

  // Leaving the page would abort the uploads in flight: ask first (tus
  // uploads go on after a reload when the same files are chosen again).
  window.addEventListener('beforeunload', (event) => {
    if (!useTus && (sending || waiting.length)) event.preventDefault();
  });

  // Files pasted anywhere on the page (a screenshot, files copied in a file manager).
  document.addEventListener('paste', (event) => {
    const files = event.clipboardData ? [...event.clipboardData.files] : [];
    if (!files.length) return;
    event.preventDefault();
    addFiles(files);
  });

  // A whole folder, with what is in its subfolders (webkitdirectory: every current browser).
  if ('webkitdirectory' in HTMLInputElement.prototype) {
    const folderInput = el('input', { type: 'file', id: 'folder-input', multiple: true, webkitdirectory: true });
    const folderLabel = el('label', { htmlFor: 'folder-input', className: 'folder-label' }, 'Choose a folder');
    folderInput.addEventListener('change', () => {
      addFiles([...folderInput.files]);
      folderInput.value = '';
    });
    input.after(folderLabel, folderInput);
  }

  // -------------------------------------------------- interrupted uploads

  // tus-js-client keeps the URL of each unfinished upload in localStorage
  // (storeFingerprintForResuming above). A page cannot reopen a file by
  // itself, so after a reload it says which files can go on, and offers to
  // give them up: the server then drops what it holds (tus termination).
  const interrupted = el('div', { id: 'interrupted', className: 'notice notice-info', hidden: true });
  interrupted.setAttribute('role', 'status');
  panel.before(interrupted); // outside the panel, which is hidden while it is empty

  async function showInterrupted() {
    const storage = useTus ? window.tus.defaultOptions.urlStorage : null;
    if (!storage) return;
    const inPanel = new Set(uploads.map((upload) => upload.tus && upload.tus.url).filter(Boolean));
    const entries = (await storage.findAllUploads().catch(() => [])).filter(
      (entry) => entry.metadata && entry.metadata.filename && !inPanel.has(entry.uploadUrl),
    );
    interrupted.hidden = entries.length === 0;
    if (!entries.length) return;
    const several = entries.length > 1;
    const names = entries
      .map((entry) => (entry.size ? `${entry.metadata.filename} (${formatSize(entry.size)})` : entry.metadata.filename))
      .join(', ');
    const forget = el('button', { type: 'button', className: 'interrupted-forget' }, several ? 'Give them up' : 'Give it up');
    forget.addEventListener('click', async () => {
      const headers = { 'Tus-Resumable': '1.0.0', 'X-CSRF-Token': csrfToken };
      await Promise.all(
        entries.map(async (entry) => {
          await fetch(entry.uploadUrl, { method: 'DELETE', headers }).catch(() => null); // gone already: fine
          await storage.removeUpload(entry.urlStorageKey);
        }),
      );
      showInterrupted();
    });
    interrupted.replaceChildren(
      el(
        'span',
        {},
        `Not finished when the page was left: ${names}. Choose or drop the same ${several ? 'files' : 'file'} ` +
          `again to go on from where ${several ? 'they' : 'it'} stopped. `,
      ),
      forget,
    );
  }

  // Dropping needs this script, so only now does the page offer it.
  document.getElementById('drop-hint').hidden = false;
  for (const row of fileList.rows) enhanceFileRow(row);
  showListed();
  showInterrupted();
})();
