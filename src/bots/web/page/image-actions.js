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
  for (const model of form.editModels) $('edit-model').append(new Option(model === form.editModel ? `${model} (default)` : model, model, false, model === form.editModel));
  $('edit-form').addEventListener('submit', (e) => {
    e.preventDefault();
    void sendEdit();
  });
  $('edit-close').addEventListener('click', () => $('edit-dialog').close());

  const act = (path, imageId) => page.submit(() => page.api(path, { imageId, requestId: crypto.randomUUID() }), page.actionError);

  async function remove(imageId) {
    page.actionError('');
    const { ok, data } = await page.api('/api/delete', { imageId });
    if (!ok) page.actionError(data.error);
    else await page.deleted(imageId, data.status);
  }

  function openEdit(imageId) {
    editing = imageId;
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
      const body = { imageId: editing, requestId: crypto.randomUUID(), prompt: $('edit-prompt').value, model: $('edit-model').value };
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
    const actions = [
      ['Reroll', () => act('/api/reroll', image.id)],
      ['Edit', () => openEdit(image.id)],
      ['Vary', () => act('/api/vary', image.id)],
      ['Delete', () => remove(image.id)],
    ];
    for (const [text, run] of actions) {
      if (!image.kept && (text === 'Edit' || text === 'Vary')) continue;
      const button = document.createElement('button');
      button.type = 'button';
      button.textContent = text;
      if (text === 'Delete') button.className = 'danger';
      button.addEventListener('click', () => void run());
      group.append(button);
    }
    return group;
  };
}
