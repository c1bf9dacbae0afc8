<%inherit file="layout.mako"/>
<%def name="title()">${status} · ${project_name}</%def>
<section class="error-page">
  <h2>${status}</h2>
  <p class="notice notice-error" role="alert">${message}</p>
  <p><a href="${request.route_path('home')}">Back to the uploads</a></p>
</section>
