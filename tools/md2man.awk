# md2man.awk — turns cntb's man-page-style Markdown (docs/*.md) into troff
# (man(7) macros), so that every documented command also gets a man page.
#
#   awk -v section=1 -f md2man.awk docs/cntb-traffic.md > cntb-traffic.1
#   awk -v section=1 -v cmd=deploy -v desc="..." -f md2man.awk docs/cntb.md > cntb-deploy.1
#
# Without `cmd`: the whole file; "# name(S) — text" becomes .TH and a NAME
# section (unless the file has its own), "##" .SH, "###" .SS, fenced code
# .nf/.fi, "- " items .IP, tables preformatted, `code` bold, *x* italic.
# With `cmd` (a cntb subcommand): NAME "cntb-CMD \- desc", the SYNOPSIS lines
# of the file that start with "cntb CMD", the "### CMD..." sections of the
# file as DESCRIPTION, then the file's EXIT STATUS and SEE ALSO cntb(1).
# Plain POSIX awk (mawk): no gensub, no interval expressions.

function esc(s) {
    gsub(/\\/, "\\e", s)
    gsub(/—/, "\\(em", s)
    gsub(/…/, "...", s)
    return s
}
function inline(s,   out, i, j, c, code) {
    s = esc(s)
    out = ""; code = 0
    for (i = 1; i <= length(s); i++) {
        c = substr(s, i, 1)
        if (c == "`") { out = out (code ? "\\fR" : "\\fB"); code = !code; continue }
        if (!code && c == "*" && substr(s, i + 1, 1) == "*") { i++; continue }
        if (!code && c == "*" && substr(s, i + 1, 1) != " ") {
            j = index(substr(s, i + 1), "*")
            if (j > 1) { out = out "\\fI" substr(s, i + 1, j - 1) "\\fR"; i += j; continue }
        }
        out = out c
    }
    if (code) out = out "\\fR"
    return out
}
function line_out(s) {
    if (substr(s, 1, 1) == "." || substr(s, 1, 1) == "'") s = "\\&" s
    print s
}
function emit(s) {  # one Markdown line, outside subcommand filtering
    if (s ~ /^ *```/) {
        if (incode) { print ".fi"; print ".RE"; incode = 0 }
        else { print ".RS 2"; print ".nf"; incode = 1 }
        return
    }
    if (incode) { line_out(esc(s)); return }
    if (s ~ /^\|/) {
        if (s ~ /^\|[ -:|]*$/) return
        if (!intable) { print ".RS 2"; print ".nf"; intable = 1 }
        gsub(/^\| */, "", s); gsub(/ *\|$/, "", s); gsub(/ *\| */, "  ", s)
        line_out(inline(s)); return
    }
    if (intable) { print ".fi"; print ".RE"; intable = 0 }
    if (s ~ /^### /) { print ".SS \"" esc(substr(s, 5)) "\""; return }
    if (s ~ /^## /) { print ".SH \"" toupper(esc(substr(s, 4))) "\""; return }
    if (s ~ /^ *$/) { print ".PP"; return }
    if (s ~ /^- /) { print ".IP \\(bu 2"; line_out(inline(substr(s, 3))); return }
    if (s ~ /^[0-9]+\. /) { n = index(s, " "); print ".IP " substr(s, 1, n - 1) " 3"; line_out(inline(substr(s, n + 1))); return }
    if (s ~ /^  +[^ ]/ && s !~ /^    /) { sub(/^ +/, "", s) }
    line_out(inline(s))
}
NR == 1 {
    title = $0; sub(/^# */, "", title)
    name = title; sub(/\(.*$/, "", name)
    desc_ = title; sub(/^[^—]*— */, "", desc_)
    if (cmd != "") {
        printf ".TH \"%s\" \"%s\" \"\" \"cntb\" \"cntb manual\"\n", toupper("cntb-" cmd), section
        print ".SH NAME"; print "cntb-" cmd " \\- " esc(desc)
        print ".SH SYNOPSIS"; print ".nf"
    } else {
        printf ".TH \"%s\" \"%s\" \"\" \"cntb\" \"cntb manual\"\n", toupper(name), section
    }
    next
}
cmd == "" {
    if ($0 ~ /^## NAME/) hasname = 1
    if (!hasname && !named && $0 ~ /^## /) {
        print ".SH NAME"; print esc(name) " \\- " esc(desc_); named = 1
    }
    emit($0); next
}
# --- subcommand mode: collect, print at the end ---
/^## SYNOPSIS/ { insyn = 1; next }
insyn && /^## / { insyn = 0 }
insyn && $0 ~ ("^cntb " cmd "( |$)") { syn = syn $0 "\n"; next }
/^## EXIT STATUS/ { inexit = 1; next }
inexit && /^## / { inexit = 0 }
inexit { exitst = exitst $0 "\n"; next }
/^### / { h = substr($0, 5); split(h, w, " "); insec = (w[1] == cmd) }
/^## / { insec = 0 }
insec { body[++nbody] = $0 }
END {
    if (cmd == "") { if (incode || intable) print ".fi"; exit }
    printf "%s", esc(syn); print ".fi"
    print ".SH DESCRIPTION"
    for (i = 1; i <= nbody; i++) emit(body[i])
    if (incode || intable) print ".fi"
    print ".SH \"EXIT STATUS\""
    n = split(exitst, xs, "\n"); for (i = 1; i <= n; i++) emit(xs[i])
    print ".SH \"SEE ALSO\""
    print "\\fBcntb\\fR(1); the documentation in /usr/share/doc/cntb (docs/ of the source)."
}
