// Package web is the server-rendered shell of congso's user interface: the page
// layout (header, navigation, language switch, demo banner, footer), the static
// assets embedded in the binary, and the rendering helper every module's pages
// use. Modules keep their own page templates beside their code and parse them
// with [Shell.Pages], which gives each page its own copy of the layout so pages
// never clash over block names.
//
// Pages work without JavaScript; forms post with a CSRF token; the markup is
// semantic HTML with a skip link, labelled controls and visible focus, for WCAG 2.1
// AA. Text comes from the i18n catalogs: Vietnamese by default, English on request.
package web
