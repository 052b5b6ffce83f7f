package interop_test

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"golang.org/x/net/html"

	"github.com/oidcrp/oidcrp/oidctest"
)

// acceptHTML is what a browser sends when it navigates.
const acceptHTML = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"

// htmlForm is a form of a page, as a browser would submit it.
type htmlForm struct {
	ID      string
	Action  *url.URL // resolved against the page's URL
	Method  string   // GET or POST
	Fields  url.Values
	Buttons []htmlButton // its submit buttons, in document order
}

// htmlButton is a submit button; its name and value are sent when it is the
// one clicked.
type htmlButton struct {
	Name, Value, Text string
}

// forms parses the forms of page. Controls belong to the form that encloses
// them or, with a form="id" attribute, to the form with that id (HTML's form
// owner: oidc-provider's logout page links its buttons to the form that
// way).
func forms(page *oidctest.Page) ([]*htmlForm, error) {
	doc, err := html.Parse(bytes.NewReader(page.Body))
	if err != nil {
		return nil, err
	}
	var all []*htmlForm
	byNode := map[*html.Node]*htmlForm{}
	byID := map[string]*htmlForm{}
	for n := range doc.Descendants() {
		if n.Type != html.ElementNode || n.Data != "form" {
			continue
		}
		f := &htmlForm{ID: attr(n, "id"), Method: strings.ToUpper(attr(n, "method")), Fields: url.Values{}}
		if f.Method != http.MethodPost {
			f.Method = http.MethodGet
		}
		action, err := page.URL.Parse(attr(n, "action")) // "" is the page itself
		if err != nil {
			return nil, fmt.Errorf("form action %q: %w", attr(n, "action"), err)
		}
		f.Action = action
		all = append(all, f)
		byNode[n] = f
		if f.ID != "" {
			if _, dup := byID[f.ID]; !dup {
				byID[f.ID] = f
			}
		}
	}
	for n := range doc.Descendants() {
		if n.Type != html.ElementNode || (n.Data != "input" && n.Data != "button" && n.Data != "textarea" && n.Data != "select") {
			continue
		}
		var owner *htmlForm
		if id, ok := attrOK(n, "form"); ok {
			owner = byID[id]
		} else {
			for p := n.Parent; p != nil && owner == nil; p = p.Parent {
				owner = byNode[p]
			}
		}
		if owner == nil || hasAttr(n, "disabled") {
			continue
		}
		name := attr(n, "name")
		typ := strings.ToLower(attr(n, "type"))
		switch {
		case n.Data == "button" && (typ == "" || typ == "submit"),
			n.Data == "input" && (typ == "submit" || typ == "image"):
			owner.Buttons = append(owner.Buttons, htmlButton{Name: name, Value: attr(n, "value"), Text: strings.TrimSpace(text(n))})
		case n.Data == "button", name == "":
		case n.Data == "input" && (typ == "checkbox" || typ == "radio"):
			if hasAttr(n, "checked") {
				owner.Fields.Add(name, cmp.Or(attr(n, "value"), "on"))
			}
		case n.Data == "input" && (typ == "reset" || typ == "file"):
		case n.Data == "textarea":
			owner.Fields.Add(name, text(n))
		case n.Data == "select":
			for o := range n.Descendants() {
				if o.Type == html.ElementNode && o.Data == "option" && hasAttr(o, "selected") {
					owner.Fields.Add(name, cmp.Or(attr(o, "value"), text(o)))
				}
			}
		default:
			owner.Fields.Add(name, attr(n, "value"))
		}
	}
	return all, nil
}

// formWith returns the first form of page that has a field name=value
// (value "" matches any value), or nil.
func formWith(page *oidctest.Page, name, value string) (*htmlForm, error) {
	all, err := forms(page)
	if err != nil {
		return nil, err
	}
	for _, f := range all {
		if vs, ok := f.Fields[name]; ok && (value == "" || slices.Contains(vs, value)) {
			return f, nil
		}
	}
	return nil, nil
}

// Submit submits f as if its button (nil: none, as by pressing Enter) were
// clicked, with set overriding fields, and follows the redirects.
func (f *htmlForm) Submit(ctx context.Context, b *oidctest.Browser, button *htmlButton, set map[string]string) (*oidctest.Page, error) {
	values := url.Values{}
	for k, vs := range f.Fields {
		values[k] = slices.Clone(vs)
	}
	for k, v := range set {
		values.Set(k, v)
	}
	if button != nil && button.Name != "" {
		values.Add(button.Name, button.Value)
	}
	if f.Method == http.MethodPost {
		return b.PostForm(ctx, f.Action.String(), values, "Accept", acceptHTML)
	}
	u := *f.Action
	u.RawQuery = values.Encode()
	return b.Get(ctx, u.String(), "Accept", acceptHTML)
}

// Button returns f's submit button named name with value value, or nil.
func (f *htmlForm) Button(name, value string) *htmlButton {
	for i, b := range f.Buttons {
		if b.Name == name && b.Value == value {
			return &f.Buttons[i]
		}
	}
	return nil
}

// link returns the first link of page whose resolved URL matches, or nil.
func link(page *oidctest.Page, match func(*url.URL) bool) (*url.URL, error) {
	doc, err := html.Parse(bytes.NewReader(page.Body))
	if err != nil {
		return nil, err
	}
	for n := range doc.Descendants() {
		if n.Type == html.ElementNode && n.Data == "a" {
			if href, ok := attrOK(n, "href"); ok {
				if u, err := page.URL.Parse(href); err == nil && match(u) {
					return u, nil
				}
			}
		}
	}
	return nil, nil
}

// elementText returns the text of the first element of page with id, and
// whether there is one.
func elementText(page *oidctest.Page, id string) (string, bool) {
	doc, err := html.Parse(bytes.NewReader(page.Body))
	if err != nil {
		return "", false
	}
	for n := range doc.Descendants() {
		if n.Type == html.ElementNode && attr(n, "id") == id {
			return strings.TrimSpace(text(n)), true
		}
	}
	return "", false
}

func attr(n *html.Node, key string) string {
	v, _ := attrOK(n, key)
	return v
}

func attrOK(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Namespace == "" && a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

func hasAttr(n *html.Node, key string) bool {
	_, ok := attrOK(n, key)
	return ok
}

func text(n *html.Node) string {
	var sb strings.Builder
	for d := range n.Descendants() {
		if d.Type == html.TextNode {
			sb.WriteString(d.Data)
		}
	}
	return sb.String()
}
