<%inherit file="layout.mako"/>
% if message:
<p class="notice notice-ok" role="status">${message}</p>
% endif
% if error:
<p class="notice notice-error" role="alert">${error}</p>
% endif

<form id="upload-form" class="upload-form" action="${request.route_path('files')}" method="post"
      enctype="multipart/form-data" accept-charset="utf-8"
      data-max-size="${max_size}" data-max-size-text="${max_size_text}"
      data-max-files="${max_files}" data-tus-endpoint="${tus_endpoint}" data-tus-chunk-size="${tus_chunk_size}" data-allowed-extensions="${allowed_extensions}">
  <input type="hidden" name="csrf_token" value="${csrf_token}">
  <div id="dropzone" class="dropzone">
    <label for="file-input" class="dropzone-label">Choose files to upload</label>
    <input id="file-input" type="file" name="file" multiple accept="${accept}" aria-describedby="limits">
    <p id="drop-hint" class="hint" hidden>or drop them in this box</p>
    <p id="limits" class="limits">Up to ${max_size_text} per upload${f"; allowed: {allowed_extensions}" if allowed_extensions else ""}.</p>
  </div>
  <button type="submit" class="primary">Upload</button>
</form>

<p id="upload-status" class="visually-hidden" role="status" aria-live="polite"></p>
<ul id="upload-queue" class="queue" aria-label="Uploads"></ul>

<section class="stored" aria-labelledby="files-heading">
  <h2 id="files-heading">Stored files</h2>
  <form class="search" role="search" method="get" action="${search_url}">
    <label for="search-input">Search by name</label>
    <input id="search-input" type="search" name="q" value="${q}" maxlength="200">
    <button type="submit">Search</button>
  </form>
  <p id="file-totals" class="totals" data-count="${file_count}" data-size="${total_size}">${file_totals}</p>
  <p id="no-files" class="empty"${" hidden" if files else ""}>No files yet.</p>
  <ul id="file-list" class="files">
    % for file in files:
    <li class="file" data-id="${file['id']}" data-sha256="${file['sha256']}" data-size="${file['size']}">
      <div class="file-main">
        <a class="file-name" href="${file['url']}" download>${file['filename']}</a>
        <span class="file-meta"><span class="file-size">${file['size_text']}</span> <time class="file-time" datetime="${file['created']}">${file['created_text']}</time></span>
        <code class="file-sha256" title="SHA-256">${file['sha256']}</code>
      </div>
      % if file['preview'] == 'audio':
      <audio class="preview" controls preload="metadata" src="${file['url']}" aria-label="Play ${file['filename']}"></audio>
      % elif file['preview'] == 'image':
      <img class="preview" src="${file['url']}" alt="${file['filename']}" loading="lazy">
      % elif file['preview'] == 'video':
      <video class="preview" controls preload="metadata" src="${file['url']}" aria-label="Play ${file['filename']}"></video>
      % endif
      <details class="delete">
        <summary>Delete<span class="visually-hidden"> ${file['filename']}</span></summary>
        <form class="delete-form" method="post" action="${file['delete_url']}">
          <input type="hidden" name="csrf_token" value="${csrf_token}">
          <button type="submit" class="danger">Confirm delete<span class="visually-hidden"> ${file['filename']}</span></button>
        </form>
      </details>
{%- if cookiecutter.access == "accounts" %}
      <form class="share-form" method="post" action="${file['share_url']}">
        <input type="hidden" name="csrf_token" value="${csrf_token}">
        <button type="submit">Share link<span class="visually-hidden"> for ${file['filename']}</span></button>
      </form>
{%- endif %}
    </li>
    % endfor
  </ul>
  % if older_url or newest_url:
  <nav class="pages" aria-label="More stored files">
    % if newest_url:
    <a href="${newest_url}">Newest files</a>
    % endif
    % if older_url:
    <a href="${older_url}" rel="next">Older files</a>
    % endif
  </nav>
  % endif
</section>
