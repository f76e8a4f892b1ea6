# Turns a manual page written with the man(7) macros into the program's
# --help text: a C header defining `static const char help_text[]`.
# The page's source lines are kept as they are (no refilling); sections
# start at column 0, their text is indented by 4, a .TP tag by 4 and its
# paragraph by 8.  @dir@ placeholders become the macros of paths.h, so the
# generated header does not depend on how the tree was configured.
#
# Understood: .TH .SH .PP .P .LP .TP .sp .br .nf .fi .B .I .BR .BI .IB
# .IR .RB .RI and comments; the escapes \f[BIRP] \- \e \& \(aq \(dq \(em
# \(en and "\ ".  Anything else stops the build, so the page and the help
# cannot silently differ.
BEGIN {
	indent = 4
	tag_next = 0
	started = 0
	print "/* Generated from " src " by man/man2help.awk; edit the page, not this. */"
	print "#include \"paths.h\""
	print ""
	print "static const char help_text[] ="
}

function die(msg) {
	printf "%s:%d: %s\n", src, NR, msg > "/dev/stderr"
	failed = 1
	exit 1
}

# The macro's arguments, quotes honoured.
function args(s,    out, n, c, i, q, cur) {
	n = 0
	cur = ""
	q = 0
	for (i = 1; i <= length(s); i++) {
		c = substr(s, i, 1)
		if (c == "\"") {
			q = !q
			if (!q) { argv_[++n] = cur; cur = "" }
			continue
		}
		if (c == " " && !q) {
			if (cur != "") argv_[++n] = cur
			cur = ""
			continue
		}
		cur = cur c
	}
	if (cur != "") argv_[++n] = cur
	return n
}

function unescape(s) {
	gsub(/\\e/, "\001", s)
	gsub(/\\f[BIRP]/, "", s)
	gsub(/\\-/, "-", s)
	gsub(/\\\(aq/, "'", s)
	gsub(/\\\(dq/, "\"", s)
	gsub(/\\\(em/, "--", s)
	gsub(/\\\(en/, "-", s)
	gsub(/\\&/, "", s)
	gsub(/\\ /, " ", s)
	if (index(s, "\\"))
		die("escape not understood: " s)
	gsub(/\001/, "\\\\", s)
	return s
}

# One line of help as a C string; @dir@ becomes the macro DIR.
function emit(text,    out, pre, name) {
	gsub(/\\/, "\\\\", text)
	gsub(/"/, "\\\"", text)
	out = ""
	while (match(text, /@[a-z]+@/)) {
		pre = substr(text, 1, RSTART - 1)
		name = toupper(substr(text, RSTART + 1, RLENGTH - 2))
		out = out pre "\" " name " \""
		text = substr(text, RSTART + RLENGTH)
	}
	print "\"" out text "\\n\""
}

# A tag of up to 3 characters shares its line with the paragraph, as the
# page renders it ("0   stopped ...").
function line(text,    pad) {
	pad = sprintf("%" indent "s", "")
	if (tag_next) {
		tag_next = 0
		indent += 4
		if (length(text) < 4) {
			short_tag = text
			return
		}
		emit(pad text)
		return
	}
	if (short_tag != "") {
		emit(sprintf("%" (indent - 4) "s%-4s%s", "", short_tag, text))
		short_tag = ""
		return
	}
	emit(pad text)
}

/^\.\\"/ || /^\.TH / { next }

/^\./ && short_tag != "" { die("a .TP tag without its paragraph") }

/^\.SH / {
	n = args(substr($0, 5))
	t = ""
	for (i = 1; i <= n; i++) t = t (i > 1 ? " " : "") argv_[i]
	if (started) emit("")
	started = 1
	emit(unescape(t))
	indent = 4
	tag_next = 0
	next
}
/^\.(PP|P|LP|sp)$/ {
	emit("")
	indent = 4
	next
}
/^\.TP/ {
	indent = 4
	tag_next = 1
	next
}
/^\.br$/ { next }
# Lines are never refilled: no-fill blocks need nothing more.
/^\.(nf|fi)$/ { next }
/^\.(B|I) / {
	n = args(substr($0, 4))
	t = ""
	for (i = 1; i <= n; i++) t = t (i > 1 ? " " : "") argv_[i]
	line(unescape(t))
	next
}
/^\.(BR|BI|IB|IR|RB|RI) / {
	n = args(substr($0, 5))
	t = ""
	for (i = 1; i <= n; i++) t = t argv_[i]
	line(unescape(t))
	next
}
/^\./ { die("macro not understood: " $0) }
/^$/ { die("blank line (use .PP or .sp)") }
{ line(unescape($0)) }

END {
	if (failed)
		exit 1
	print ";"
}
