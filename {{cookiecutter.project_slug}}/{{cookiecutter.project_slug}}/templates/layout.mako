<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>${self.title()}</title>
  <link rel="icon" href="${static_url}favicon.svg" type="image/svg+xml">
  <link rel="stylesheet" href="${static_url}upload.css">
  <script src="${static_url}tus.min.js" defer></script>
  <script src="${static_url}upload.js" defer></script>
</head>
<body>
  <main>
    <header><h1><a href="${request.route_path('home')}">${project_name}</a></h1></header>
    ${self.body()}
  </main>
</body>
</html>
<%def name="title()">${project_name}</%def>
