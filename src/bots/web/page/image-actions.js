/* global document, Option, crypto */
// The buttons under a playground image (Reroll, Edit, Vary, Delete) and the Edit dialog. Every action goes through
// the API, which checks the session and the flood limits; its refusals are shown as they come.

const $ = (id) => document.getElementById(id);

/**
 * Sets up the Edit dialog and returns `(image, name) → the group of buttons under the image` (Reroll and Delete only
 * once its bytes are gone: there is nothing left to vary or edit). `page` is what the buttons act through: `api`,
 * `submit(call, onError)` (follows the job it queues), `actionError(text)`, `deleted(imageId, status)`. `form` is the
 * server's form: the models that edit and the default one.
 */
export function imageActions(page, form) {
  let editing; // the image the Edit dialog edits
  let editingImage; // which image of a gallery (1-based), or undefined for a one-image result
  for (const model of form.editModels) $('edit-model').append(new Option(model === form.editModel ? `${model} (default)` : model, model, false, model === form.editModel));
  $('edit-form').addEventListener('submit', (e) => {
    e.preventDefault();
    void sendEdit();
  });
  $('edit-close').addEventListener('click', () => $('edit-dialog').close());

  const act = (path, imageId, n) => page.submit(() => page.api(path, { imageId, requestId: crypto.randomUUID(), ...(n === undefined ? {} : { image: n }) }), page.actionError);

  async function remove(imageId) {
    page.actionError('');
    const { ok, data } = await page.api('/api/delete', { imageId });
    if (!ok) page.actionError(data.error);
    else await page.deleted(imageId, data.status);
  }

  function openEdit(imageId, n) {
    editing = imageId;
    editingImage = n;
    $('edit-title').textContent = n === undefined ? 'Edit image' : `Edit image ${n}`;
    $('edit-prompt').value = '';
    $('edit-prompt').removeAttribute('aria-invalid');
    $('edit-model').value = form.editModel;
    $('edit-error').textContent = '';
    $('edit-dialog').showModal();
    $('edit-prompt').focus();
  }

  function editError(text, field) {
    $('edit-error').textContent = text ?? '';
    for (const name of ['prompt', 'model']) {
      if (field === name) $(`edit-${name}`).setAttribute('aria-invalid', 'true');
      else $(`edit-${name}`).removeAttribute('aria-invalid');
    }
  }

  async function sendEdit() {
    $('edit-submit').disabled = true;
    try {
      const body = { imageId: editing, requestId: crypto.randomUUID(), prompt: $('edit-prompt').value, model: $('edit-model').value, ...(editingImage === undefined ? {} : { image: editingImage }) };
      if (await page.submit(() => page.api('/api/edit', body), editError)) $('edit-dialog').close();
    } finally {
      $('edit-submit').disabled = false;
    }
  }

  return function buttons(image, name) {
    const group = document.createElement('div');
    group.className = 'image-actions';
    group.setAttribute('role', 'group');
    group.setAttribute('aria-label', name);
    const count = image.images ?? 1;
    const numbered = (letter, what, run) => Array.from({ length: count }, (_, i) => [`${letter}${i + 1}`, () => run(i + 1), `${what} image ${i + 1}`]);
    // A gallery: Reroll (the whole set), V1…Vk and E1…Ek (one of its images), Delete (the set).
    const actions =
      count > 1
        ? [
            ['Reroll', () => act('/api/reroll', image.id)],
            ...numbered('V', 'Vary', (n) => act('/api/vary', image.id, n)),
            ...numbered('E', 'Edit', (n) => openEdit(image.id, n)),
            ['Delete', () => remove(image.id)],
          ]
        : [
            ['Reroll', () => act('/api/reroll', image.id)],
            ['Edit', () => openEdit(image.id)],
            ['Vary', () => act('/api/vary', image.id)],
            ['Delete', () => remove(image.id)],
          ];
    for (const [text, run, title] of actions) {
      if (!image.kept && (text === 'Edit' || text === 'Vary' || /^[VE]\d$/.test(text))) continue;
      const button = document.createElement('button');
      button.type = 'button';
      button.textContent = text;
      if (title) button.title = title;
      if (text === 'Delete') button.className = 'danger';
      button.addEventListener('click', () => void run());
      group.append(button);
    }
    return group;
  };
}
