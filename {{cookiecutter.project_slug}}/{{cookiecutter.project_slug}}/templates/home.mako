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
  <p id="no-files" class="empty"${" hidden" if files else ""}>${"No file name contains this search." if q else "No files yet."}</p>
  <form id="bulk-form" class="bulk" method="post" action="${bulk_delete_url}"${"" if files else " hidden"}>
    <input type="hidden" name="csrf_token" value="${csrf_token}">
    <details class="delete bulk-delete">
      <summary>Delete selected</summary>
      <button type="submit" class="danger">Confirm: delete the selected files</button>
    </details>
  </form>
  <table id="file-table" class="files" data-previews="${'on' if previews else 'off'}" data-share-links="${'on' if share_links else 'off'}" data-thumbnail-max-size="${thumbnail_max_size}"${"" if files else " hidden"}>
    <caption class="visually-hidden">Stored files, newest first</caption>
    <thead>
      <tr>
        <th scope="col" class="file-check"><span class="visually-hidden">Selected</span></th>
        <th scope="col" class="file-type-cell"><span class="visually-hidden">Type</span></th>
        <th scope="col">Name</th>
        <th scope="col" class="file-size">Size</th>
        <th scope="col" class="file-when">Uploaded</th>
        <th scope="col" class="file-actions"><span class="visually-hidden">Actions</span></th>
      </tr>
    </thead>
    <tbody id="file-list">
      % for file in files:
      <tr class="file" data-id="${file['id']}" data-sha256="${file['sha256']}" data-size="${file['size']}">
        <td class="file-check"><input type="checkbox" class="file-select" name="id" value="${file['id']}" form="bulk-form" aria-label="Select ${file['filename']}"></td>
        <td class="file-type-cell">
          % if file['thumbnail']:
          <img class="thumbnail" src="${file['url']}" alt="" title="${file['media_type']}" width="32" height="32" loading="lazy">
          % else:
          <span class="file-type" data-kind="${file['kind']}" title="${file['media_type']}">${file['badge']}</span>
          % endif
        </td>
        <th scope="row" class="file-name-cell">
          <a class="file-name" href="${file['url']}" download>${file['filename']}</a>
          % if file['player']:
          <details class="play">
            <summary>Play<span class="visually-hidden"> ${file['filename']}</span></summary>
            % if file['player'] == 'audio':
            <audio controls preload="none" src="${file['url']}" aria-label="${file['filename']}"></audio>
            % else:
            <video controls preload="none" src="${file['url']}" aria-label="${file['filename']}"></video>
            % endif
          </details>
          % endif
        </th>
        <td class="file-size">${file['size_text']}</td>
        <td class="file-when"><time class="file-time" datetime="${file['created']}" title="${file['created_text']}">${file['created_text']}</time></td>
        <td class="file-actions">
          <a class="download" href="${file['url']}" download>Download<span class="visually-hidden"> ${file['filename']}</span></a>
{%- if cookiecutter.access == "accounts" %}
          <form class="share-form" method="post" action="${file['share_url']}">
            <input type="hidden" name="csrf_token" value="${csrf_token}">
            <button type="submit">Share link<span class="visually-hidden"> for ${file['filename']}</span></button>
          </form>
{%- endif %}
          <details class="delete">
            <summary>Delete<span class="visually-hidden"> ${file['filename']}</span></summary>
            <form class="delete-form" method="post" action="${file['delete_url']}">
              <input type="hidden" name="csrf_token" value="${csrf_token}">
              <button type="submit" class="danger">Confirm delete<span class="visually-hidden"> ${file['filename']}</span></button>
            </form>
          </details>
        </td>
      </tr>
      % endfor
    </tbody>
  </table>
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
