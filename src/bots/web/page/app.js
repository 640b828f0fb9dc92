/* global document, window, fetch, EventSource, FileReader, Option, crypto */
// The playground page: builds the form from the command definitions the server sends (the same ones Discord and
// Slack use), submits, follows the job over server-sent events, shows the image, the quota line and recent images.
// Under each image: Reroll, Edit (a dialog), Vary and Delete; a job under way can be canceled. Plain DOM, no
// framework; every control has a visible label.

import { imageActions } from './image-actions.js';

const $ = (id) => document.getElementById(id);
const HEADERS = { 'content-type': 'application/json', 'x-fluxbot-playground': '1' };
const LABELS = { count: 'Number of images', image: 'Images to edit', image_prompt: 'Image prompt', image_prompt_url: 'Image prompt link', prompt_upsampling: 'Prompt upsampling' };
const MAIN_FIELDS = new Set(['prompt', 'model', 'count', 'aspect_ratio', 'image', 'image_prompt']);

let form = { options: [] };
let current; // the image shown as the result
let pending; // the latest job under way: what Cancel cancels
let actionButtons; // (image, name) → the buttons under an image, once the form is loaded
const streams = new Map(); // job id → its status stream

const label = (name) => LABELS[name] ?? name.charAt(0).toUpperCase() + name.slice(1).replace(/_/g, ' ');

async function api(path, body) {
  const res = await fetch(path, body === undefined ? { credentials: 'same-origin' } : { method: 'POST', headers: HEADERS, body: JSON.stringify(body), credentials: 'same-origin' });
  const data = await res.json().catch(() => ({ error: `The server answered ${res.status}.` }));
  return { ok: res.ok, status: res.status, data };
}

function control(option) {
  const id = `f-${option.name}`;
  let input;
  if (option.name === 'prompt') {
    input = document.createElement('textarea');
    input.rows = 3;
    input.required = true;
    input.maxLength = option.maxLength;
  } else if (option.choices) {
    input = document.createElement('select');
    if (option.name !== 'model') input.append(new Option('Default', ''));
    for (const choice of option.choices) input.append(new Option(choice === form.defaultModel ? `${choice} (default)` : choice, choice, false, choice === form.defaultModel));
  } else if (option.name === 'image') {
    // Reference images: several files, in the order chosen, then links (one per line).
    input = document.createElement('input');
    input.type = 'file';
    input.multiple = true;
    input.accept = 'image/png,image/jpeg,image/webp,image/gif';
  } else if (option.type === 'attachment') {
    input = document.createElement('input');
    input.type = 'file';
    input.accept = 'image/png,image/jpeg,image/webp';
  } else if (option.type === 'boolean') {
    input = document.createElement('input');
    input.type = 'checkbox';
  } else {
    input = document.createElement('input');
    if (option.type === 'integer' || option.type === 'number') {
      input.type = 'number';
      input.min = String(option.min);
      input.max = String(option.max);
      input.step = option.type === 'integer' ? '1' : 'any';
    } else {
      input.type = option.name.endsWith('_url') ? 'url' : 'text';
      if (option.maxLength) input.maxLength = option.maxLength;
    }
  }
  input.id = id;
  input.name = option.name;
  const hint = document.createElement('small');
  hint.id = `${id}-hint`;
  const range = option.min !== undefined ? ` (${option.min} to ${option.max})` : '';
  hint.textContent =
    option.name === 'image'
      ? `${option.description}: PNG, JPEG, WebP or GIF, up to ${form.maxReferenceUploadBytes / 1048576} MB together (models: ${Object.keys(form.referenceModels ?? {}).join(', ')})`
      : option.type === 'attachment'
        ? `${option.description}: PNG, JPEG or WebP, up to ${form.maxUploadBytes / 1048576} MB`
        : `${option.description}${range}`;
  input.setAttribute('aria-describedby', hint.id);
  const wrap = document.createElement('div');
  wrap.className = option.type === 'boolean' ? 'field check' : 'field';
  const lab = document.createElement('label');
  lab.htmlFor = id;
  lab.textContent = label(option.name);
  if (option.type === 'boolean') wrap.append(input, lab, hint);
  else wrap.append(lab, input, hint);
  return option.name === 'image' ? [wrap, imageLinks()] : [wrap];
}

/** Links to reference images, one per line; they follow the uploaded files. */
function imageLinks() {
  const input = document.createElement('textarea');
  input.id = 'f-image_links';
  input.name = 'image_links';
  input.rows = 2;
  const hint = document.createElement('small');
  hint.id = 'f-image_links-hint';
  hint.textContent = 'Links to images to edit, one per line (after the files above)';
  input.setAttribute('aria-describedby', hint.id);
  const lab = document.createElement('label');
  lab.htmlFor = input.id;
  lab.textContent = 'Image links';
  const wrap = document.createElement('div');
  wrap.className = 'field';
  wrap.append(lab, input, hint);
  return wrap;
}

function readFile(file) {
  return readDataUrl(file).then((uri) => uri.replace(/^data:[^,]*,/, ''));
}

function readDataUrl(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result));
    reader.onerror = () => reject(new Error(`The image ${file.name} could not be read.`));
    reader.readAsDataURL(file);
  });
}

async function collect() {
  const fields = {};
  let upload;
  let images;
  for (const option of form.options) {
    const input = $(`f-${option.name}`);
    if (option.name === 'image') {
      if (input.files.length > 0) images = await Promise.all([...input.files].map(async (file) => ({ name: file.name, data: await readDataUrl(file) })));
      const links = $('f-image_links').value.split('\n').map((line) => line.trim()).filter(Boolean);
      if (links.length > 0) fields.images = links;
    } else if (option.type === 'attachment') {
      if (input.files.length > 0) upload = { data: await readFile(input.files[0]) };
    } else if (option.type === 'boolean') {
      if (input.checked) fields[option.name] = true;
    } else if (input.value.trim() !== '') {
      fields[option.name] = option.type === 'integer' || option.type === 'number' ? Number(input.value) : input.value;
    }
  }
  if (fields.prompt === undefined) fields.prompt = '';
  return { requestId: crypto.randomUUID(), fields, ...(upload ? { upload } : {}), ...(images ? { images } : {}) };
}

function showError(text, field) {
  for (const el of document.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
  $('form-error').textContent = text ?? '';
  const target = field === 'image_prompt' && !$('f-image_prompt').files.length ? 'image_prompt_url' : field === 'images' ? 'image' : field;
  const input = field && $(`f-${target}`);
  if (input) {
    input.setAttribute('aria-invalid', 'true');
    input.focus();
  }
}

const actionError = (text) => ($('action-error').textContent = text ?? '');

/** Sends a request that queues a job; errors go to `onError` (the form's by default). True when it was queued. */
async function submit(call, onError = showError) {
  onError('');
  const { ok, data } = await call();
  if (!ok) {
    onError(data.error, data.field);
    return false;
  }
  $('status').textContent = data.status;
  follow(data.jobId);
  return true;
}

function follow(jobId) {
  const events = new EventSource(`/api/jobs/${encodeURIComponent(jobId)}/events`);
  streams.set(jobId, events);
  pending = jobId;
  $('cancel').hidden = false;
  const end = () => {
    events.close();
    streams.delete(jobId);
    if (pending === jobId) {
      pending = undefined;
      $('cancel').hidden = true;
    }
  };
  events.addEventListener('status', (e) => ($('status').textContent = JSON.parse(e.data).text));
  events.addEventListener('done', (e) => {
    end();
    const done = JSON.parse(e.data);
    const what = done.images > 1 ? `These ${done.images} images` : 'This image';
    $('status').textContent = done.cost ? `Done. ${what} cost ${done.cost}.` : 'Done.';
    show(done.imageId, done.images);
  });
  events.addEventListener('failed', (e) => {
    end();
    $('status').textContent = JSON.parse(e.data).text;
    void refresh();
  });
  events.onerror = () => {
    if (events.readyState !== EventSource.CLOSED) return;
    end();
    $('status').textContent = 'Lost the live status; your image will appear under recent images.';
  };
}

async function cancel() {
  const jobId = pending;
  if (!jobId) return;
  actionError('');
  const { ok, data } = await api('/api/cancel', { jobId });
  if (!ok) {
    actionError(data.error);
    return;
  }
  $('status').textContent = data.status;
  // Canceled while queued: the job is gone at once. Otherwise its stream ends with the job, canceled.
  if (data.canceled) {
    streams.get(jobId)?.close();
    streams.delete(jobId);
    pending = undefined;
    $('cancel').hidden = true;
    void refresh();
  }
}

/** After a Delete: the image leaves the result (when shown) and the recent images. */
async function deleted(imageId, status) {
  $('status').textContent = status;
  if (current === imageId) {
    current = undefined;
    $('current').hidden = true;
    $('current-gallery').replaceChildren();
    $('current-actions').replaceChildren();
  }
  await refresh();
}

/** The image's picture `n` (1-based): a gallery's images are /api/images/<id>/<n>. */
const imageSrc = (imageId, n = 1) => `/api/images/${encodeURIComponent(imageId)}${n > 1 ? `/${n}` : ''}`;

/** Shows a result: one image, or a gallery's images together; the buttons under it act on the set and on each image. */
async function show(imageId, count) {
  await refresh();
  const image = recent.find((i) => i.id === imageId);
  const images = image?.images ?? count ?? 1;
  current = imageId;
  const gallery = $('current-gallery');
  if (images > 1) {
    $('current-image').hidden = true;
    $('current-image').removeAttribute('src');
    gallery.replaceChildren(
      ...Array.from({ length: images }, (_, i) => {
        const img = document.createElement('img');
        img.src = imageSrc(imageId, i + 1);
        img.alt = image ? `Generated image ${i + 1} of ${images}: ${image.prompt}` : `Generated image ${i + 1} of ${images}`;
        return img;
      }),
    );
    gallery.hidden = false;
  } else {
    gallery.replaceChildren();
    gallery.hidden = true;
    $('current-image').hidden = false;
    $('current-image').src = imageSrc(imageId);
    $('current-image').alt = image ? `Generated image: ${image.prompt}` : 'Generated image';
  }
  const seeds = images > 1 ? `${images} images, seeds from ${image?.seed}` : `seed ${image?.seed}`;
  $('current-caption').textContent = image ? `${image.prompt} — ${image.model}, ${seeds}, ${image.width}×${image.height}` : '';
  $('current').hidden = false;
  $('current-actions').replaceChildren(actionButtons({ id: imageId, kept: true, images }, images > 1 ? 'Actions for these images' : 'Actions for this image'));
}

let recent = [];
async function refresh() {
  const { ok, data } = await api('/api/me');
  if (!ok) return;
  $('quota').textContent = data.quota.split('\n').join(' ');
  recent = data.images;
  const list = $('recent');
  list.replaceChildren();
  for (const image of recent) {
    const item = document.createElement('li');
    if (image.kept) {
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'thumb';
      const several = image.images > 1 ? `, ${image.images} images` : '';
      button.setAttribute('aria-label', `Show image: ${image.prompt} (seed ${image.seed}${several})`);
      const img = document.createElement('img');
      img.src = imageSrc(image.id);
      img.alt = '';
      img.loading = 'lazy';
      button.append(img);
      button.addEventListener('click', () => void show(image.id));
      item.append(button);
    }
    const caption = document.createElement('span');
    const count = image.images > 1 ? ` (${image.images} images)` : '';
    caption.textContent = `${image.prompt} — seed ${image.seed}${count}${image.kept ? '' : ' (no longer kept)'}`;
    item.append(caption, actionButtons(image, `Actions for image: ${image.prompt} (seed ${image.seed})`));
    list.append(item);
  }
}

async function start() {
  const session = await api('/api/session');
  if (!session.ok) {
    document.querySelector('main').textContent = session.data.error;
    return;
  }
  if (session.data.needsSignIn) {
    $('signin').hidden = false;
    $('signin-form').addEventListener('submit', async (e) => {
      e.preventDefault();
      const { ok, data } = await api('/api/signin', { token: $('token').value });
      if (!ok) $('signin-error').textContent = data.error;
      else window.location.reload();
    });
    return;
  }
  const loaded = await api('/api/form');
  if (!loaded.ok) return;
  form = loaded.data;
  $('ttl').textContent = String(form.imageTtlHours);
  for (const option of form.options) $(MAIN_FIELDS.has(option.name) ? 'fields' : 'more-fields').append(...control(option));
  $('flux-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    $('generate').disabled = true;
    try {
      const body = await collect();
      await submit(() => api('/api/generate', body));
    } catch (err) {
      showError(err.message);
    } finally {
      $('generate').disabled = false;
    }
  });
  actionButtons = imageActions({ api, submit, actionError, deleted }, form);
  $('cancel').addEventListener('click', () => void cancel());
  $('play').hidden = false;
  await refresh();
}

void start();
