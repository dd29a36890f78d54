/*-------------------------------------------------------------------------
 *
 * translate.c
 *		  Translation of SQLite expressions and view definitions taken from
 *		  the file into PostgreSQL SQL.
 *
 * The text of DEFAULT, CHECK, generated-column and index expressions and of
 * views comes from the file's sqlite_schema: it is untrusted code.  It is
 * never run to see whether it works.  Instead:
 *
 *	1. our own SQLite tokenizer and recursive-descent parser read it into a
 *	   small tree; anything outside a narrow grammar (subqueries, parameters,
 *	   a second statement, trailing text, unknown functions...) is refused;
 *	2. the tree is deparsed into new PostgreSQL text, fully parenthesized,
 *	   with every column rewritten to its quoted PostgreSQL name, every
 *	   function schema-qualified, every literal re-quoted.  The deparser
 *	   knows the PostgreSQL type class of each operand (from the column
 *	   map) and refuses constructs whose meaning would differ;
 *	3. the text so produced is parsed again with PostgreSQL's raw parser
 *	   and the raw tree is checked against an allow-list of node types,
 *	   operators, functions, casts, collations and relations.  Only text
 *	   that passes this check is returned, so what PostgreSQL later runs
 *	   is exactly what was validated.
 *
 * Nothing here raises an ERROR for bad input: every refusal is a NULL
 * result with a short reason.  Each allow-list entry below says why its
 * meaning is the same in SQLite and PostgreSQL.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "parser/parser.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "sqlite_fdw_mig.h"

PG_FUNCTION_INFO_V1(sqlite_translate_expr_sql);

/* Longest expression or view text we look at, in bytes. */
#define MAX_INPUT_LEN	10000

/* Deepest nesting of parentheses and prefix operators we accept. */
#define MAX_DEPTH		64

/* Deepest expression tree we accept (SQLite's SQLITE_MAX_EXPR_DEPTH). */
#define MAX_TREE_DEPTH	1000

/* ---------------------------------------------------------------------
 * Tokenizer
 * ---------------------------------------------------------------------
 */

typedef enum TokType
{
	TK_EOF,
	TK_INT,						/* val: decimal digits (hex converted) */
	TK_REAL,					/* val: as written */
	TK_STRING,					/* val: decoded */
	TK_BLOB,					/* val: hex digits */
	TK_WORD,					/* val: as written (keyword or name) */
	TK_QIDENT,					/* val: decoded quoted identifier */
	TK_DQIDENT,					/* val: decoded "double-quoted" name */
	TK_OP						/* val: operator or punctuation */
} TokType;

typedef struct Token
{
	TokType		type;
	char	   *val;
	int			start;			/* byte offsets in the source */
	int			end;
} Token;

typedef struct TokList
{
	Token	   *toks;
	int			ntok;
	int			cap;
} TokList;

static bool
is_ident_start(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
		c >= 0x80;
}

static bool
is_ident_char(unsigned char c)
{
	return is_ident_start(c) || (c >= '0' && c <= '9') || c == '$';
}

static void
add_token(TokList *tl, TokType type, char *val, int start, int end)
{
	if (tl->ntok >= tl->cap)
	{
		tl->cap = tl->cap ? tl->cap * 2 : 32;
		tl->toks = tl->toks ? repalloc(tl->toks, sizeof(Token) * tl->cap) :
			palloc(sizeof(Token) * tl->cap);
	}
	tl->toks[tl->ntok].type = type;
	tl->toks[tl->ntok].val = val;
	tl->toks[tl->ntok].start = start;
	tl->toks[tl->ntok].end = end;
	tl->ntok++;
}

/*
 * Read a quoted item starting at src[*pos] (the opening quote) up to the
 * closing quote 'close'; a doubled closing quote stands for itself when
 * 'doubling' is set.  Returns the decoded text, or NULL if unterminated.
 */
static char *
read_quoted(const char *src, int len, int *pos, char close, bool doubling)
{
	StringInfoData buf;
	int			i = *pos + 1;

	initStringInfo(&buf);
	while (i < len)
	{
		if (src[i] == close)
		{
			if (doubling && i + 1 < len && src[i + 1] == close)
			{
				appendStringInfoChar(&buf, close);
				i += 2;
				continue;
			}
			*pos = i + 1;
			return buf.data;
		}
		appendStringInfoChar(&buf, src[i]);
		i++;
	}
	return NULL;
}

/*
 * Split SQLite SQL text into tokens, the way SQLite's tokenizer does for
 * the subset we accept.  Comments and white space are dropped.  Returns
 * false with *reason set on anything SQLite would not tokenize the same
 * way we do (unterminated strings, parameters, stray characters...).
 * Always ends the list with a TK_EOF token on success.
 */
static bool
sqlite_tokenize(const char *src, int len, TokList *tl, char **reason)
{
	int			i = 0;

	memset(tl, 0, sizeof(TokList));
	while (i < len)
	{
		unsigned char c = (unsigned char) src[i];
		int			start = i;

		CHECK_FOR_INTERRUPTS();

		if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
			c == '\v')
		{
			i++;
			continue;
		}
		if (c == '-' && i + 1 < len && src[i + 1] == '-')
		{
			while (i < len && src[i] != '\n')
				i++;
			continue;
		}
		if (c == '/' && i + 1 < len && src[i + 1] == '*')
		{
			/* as in SQLite, an unterminated comment runs to the end */
			i += 2;
			while (i < len && !(src[i] == '*' && i + 1 < len && src[i + 1] == '/'))
				i++;
			i = (i < len) ? i + 2 : len;
			continue;
		}
		if (c == '\'')
		{
			char	   *s = read_quoted(src, len, &i, '\'', true);

			if (s == NULL)
			{
				*reason = pstrdup("has an unterminated string literal");
				return false;
			}
			add_token(tl, TK_STRING, s, start, i);
			continue;
		}
		if (c == '"' || c == '`' || c == '[')
		{
			char	   *s = read_quoted(src, len, &i, c == '[' ? ']' : (char) c,
										c != '[');

			if (s == NULL)
			{
				*reason = pstrdup("has an unterminated quoted identifier");
				return false;
			}
			add_token(tl, c == '"' ? TK_DQIDENT : TK_QIDENT, s, start, i);
			continue;
		}
		if ((c == 'x' || c == 'X') && i + 1 < len && src[i + 1] == '\'')
		{
			char	   *s;
			int			j;

			i++;
			s = read_quoted(src, len, &i, '\'', false);
			if (s == NULL)
			{
				*reason = pstrdup("has an unterminated blob literal");
				return false;
			}
			for (j = 0; s[j]; j++)
				if (!isxdigit((unsigned char) s[j]))
					break;
			if (s[j] != '\0' || j % 2 != 0)
			{
				*reason = pstrdup("has a malformed blob literal");
				return false;
			}
			add_token(tl, TK_BLOB, s, start, i);
			continue;
		}
		if (c == '0' && i + 1 < len && (src[i + 1] == 'x' || src[i + 1] == 'X'))
		{
			uint64		v = 0;
			int			ndig = 0;

			i += 2;
			while (i < len && isxdigit((unsigned char) src[i]))
			{
				int			d = src[i];

				d = (d <= '9') ? d - '0' : (d | 0x20) - 'a' + 10;
				v = (v << 4) | (uint64) d;
				ndig++;
				i++;
			}
			if (ndig == 0 || ndig > 16 || (i < len && is_ident_char((unsigned char) src[i])))
			{
				*reason = pstrdup("has a malformed hexadecimal literal");
				return false;
			}
			/* SQLite reads 16 hex digits as a two's complement integer */
			add_token(tl, TK_INT, psprintf(INT64_FORMAT, (int64) v), start, i);
			continue;
		}
		if (isdigit(c) || (c == '.' && i + 1 < len && isdigit((unsigned char) src[i + 1])))
		{
			bool		real = false;

			while (i < len && isdigit((unsigned char) src[i]))
				i++;
			if (i < len && src[i] == '.')
			{
				real = true;
				i++;
				while (i < len && isdigit((unsigned char) src[i]))
					i++;
			}
			if (i < len && (src[i] == 'e' || src[i] == 'E'))
			{
				int			j = i + 1;

				if (j < len && (src[j] == '+' || src[j] == '-'))
					j++;
				if (j < len && isdigit((unsigned char) src[j]))
				{
					real = true;
					i = j;
					while (i < len && isdigit((unsigned char) src[i]))
						i++;
				}
			}
			if (i < len && (is_ident_char((unsigned char) src[i]) || src[i] == '.'))
			{
				*reason = pstrdup("has a malformed number");
				return false;
			}
			if (!real)
			{
				/* a decimal integer beyond int64 is a real in SQLite */
				char	   *digits = pnstrdup(src + start, i - start);
				char	   *p = digits;

				while (*p == '0' && p[1] != '\0')
					p++;
				if (strlen(p) > 19 ||
					(strlen(p) == 19 && strcmp(p, "9223372036854775807") > 0))
				{
					*reason = pstrdup("has an integer literal out of range");
					return false;
				}
				add_token(tl, TK_INT, pstrdup(p), start, i);
			}
			else
				add_token(tl, TK_REAL, pnstrdup(src + start, i - start), start, i);
			continue;
		}
		if (is_ident_start(c))
		{
			while (i < len && is_ident_char((unsigned char) src[i]))
				i++;
			add_token(tl, TK_WORD, pnstrdup(src + start, i - start), start, i);
			continue;
		}
		/* operators and punctuation, longest match first */
		{
			static const char *const ops[] = {
				"->>", "||", "<=", ">=", "==", "!=", "<>", "<<", ">>", "->",
				"(", ")", ",", ".", ";", "+", "-", "*", "/", "%", "<", ">",
				"=", "&", "|", "~", NULL
			};
			int			k;

			for (k = 0; ops[k]; k++)
			{
				int			ol = strlen(ops[k]);

				if (i + ol <= len && strncmp(src + i, ops[k], ol) == 0)
					break;
			}
			if (ops[k] != NULL)
			{
				i += strlen(ops[k]);
				add_token(tl, TK_OP, pstrdup(ops[k]), start, i);
				continue;
			}
		}
		if (c == '?' || c == ':' || c == '@' || c == '$' || c == '#')
			*reason = pstrdup("uses a parameter");
		else
			*reason = psprintf("has an unexpected character \"%c\"",
							   (c >= 0x20 && c < 0x7f) ? c : '?');
		return false;
	}
	add_token(tl, TK_EOF, NULL, len, len);
	return true;
}

/* ---------------------------------------------------------------------
 * Parser: SQLite text to our own tree
 * ---------------------------------------------------------------------
 */

typedef enum SNodeKind
{
	N_INT,						/* s: digits */
	N_REAL,						/* s: as written */
	N_STR,						/* s: decoded */
	N_BLOB,						/* s: hex digits */
	N_NULL,
	N_BOOL,						/* neg: false means TRUE */
	N_COL,						/* s: name, s2: qualifier or NULL */
	N_STAR,						/* s2: qualifier or NULL (result lists) */
	N_NOW,						/* s: "timestamp", "date", "time", "epoch" */
	N_UNARY,					/* s: "-", "+", "NOT"; a */
	N_BINOP,					/* s: operator; a, b */
	N_NULLTEST,					/* a; neg: IS NOT NULL */
	N_IS,						/* a IS [NOT] b */
	N_ISBOOL,					/* a IS [NOT] TRUE/FALSE; s: "true"/"false" */
	N_BETWEEN,					/* a [NOT] BETWEEN b AND c */
	N_IN,						/* a [NOT] IN (args) */
	N_LIKE,						/* a [NOT] LIKE b [ESCAPE c] */
	N_GLOB,						/* a [NOT] GLOB b */
	N_CASE,						/* CASE [a] args(when, then, ...) [ELSE c] */
	N_CAST,						/* CAST(a AS type); s: affinity */
	N_FUNC						/* s: lower-case name; args; distinct, star */
} SNodeKind;

typedef struct SNode
{
	SNodeKind	k;
	char	   *s;
	char	   *s2;
	struct SNode *a;
	struct SNode *b;
	struct SNode *c;
	List	   *args;
	bool		neg;
	bool		distinct;
	bool		star;
	int			start;			/* source span, for view column names */
	int			end;
} SNode;

typedef struct Parser
{
	const char *src;
	Token	   *toks;
	int			pos;
	int			depth;
	char	   *reason;
} Parser;

/*
 * SQLite keywords that never name a column in the expressions we accept.
 * A bare word outside this list is a column name (or a function name when
 * followed by a parenthesis).
 */
static const char *const reserved_words[] = {
	"ALL", "AND", "AS", "ASC", "BETWEEN", "BY", "CASE", "CAST", "COLLATE",
	"CROSS", "CURRENT_DATE", "CURRENT_TIME", "CURRENT_TIMESTAMP", "DESC",
	"DISTINCT", "ELSE", "END", "ESCAPE", "EXCEPT", "EXISTS", "FALSE",
	"FILTER", "FROM", "GLOB", "GROUP", "HAVING", "IN", "INNER", "INTERSECT",
	"IS", "ISNULL", "JOIN", "LEFT", "LIKE", "LIMIT", "MATCH", "NATURAL",
	"NOT", "NOTNULL", "NULL", "NULLS", "OFFSET", "ON", "OR", "ORDER",
	"OUTER", "OVER", "RAISE", "REGEXP", "RIGHT", "FULL", "SELECT", "THEN",
	"TRUE", "UNION", "USING", "VALUES", "WHEN", "WHERE", "WINDOW", "WITH",
	NULL
};

static bool
is_reserved(const char *word)
{
	int			i;

	for (i = 0; reserved_words[i]; i++)
		if (pg_strcasecmp(word, reserved_words[i]) == 0)
			return true;
	return false;
}

static Token *
cur(Parser *p)
{
	return &p->toks[p->pos];
}

static bool
is_kw(Parser *p, const char *kw)
{
	Token	   *t = cur(p);

	return t->type == TK_WORD && pg_strcasecmp(t->val, kw) == 0;
}

static bool
is_kw_at(Parser *p, int ahead, const char *kw)
{
	Token	   *t = &p->toks[p->pos];
	int			i;

	for (i = 0; i < ahead; i++)
	{
		if (t->type == TK_EOF)
			return false;
		t++;
	}
	return t->type == TK_WORD && pg_strcasecmp(t->val, kw) == 0;
}

static bool
is_op(Parser *p, const char *op)
{
	Token	   *t = cur(p);

	return t->type == TK_OP && strcmp(t->val, op) == 0;
}

static bool
accept_kw(Parser *p, const char *kw)
{
	if (is_kw(p, kw))
	{
		p->pos++;
		return true;
	}
	return false;
}

static bool
accept_op(Parser *p, const char *op)
{
	if (is_op(p, op))
	{
		p->pos++;
		return true;
	}
	return false;
}

/* Record the first reason only; always returns NULL for convenience. */
static void *
fail(Parser *p, char *reason)
{
	if (p->reason == NULL)
		p->reason = reason;
	return NULL;
}

static void *
fail_syntax(Parser *p)
{
	Token	   *t = cur(p);

	if (t->type == TK_EOF)
		return fail(p, pstrdup("ends unexpectedly"));
	if (t->type == TK_OP && strcmp(t->val, ";") == 0)
		return fail(p, pstrdup("has more than one statement"));
	return fail(p, psprintf("has unexpected text at \"%s\"",
							pnstrdup(p->src + t->start,
									 Min(t->end - t->start, 40))));
}

static bool
expect_op(Parser *p, const char *op)
{
	if (accept_op(p, op))
		return true;
	fail_syntax(p);
	return false;
}

static bool
expect_kw(Parser *p, const char *kw)
{
	if (accept_kw(p, kw))
		return true;
	fail_syntax(p);
	return false;
}

static SNode *
mknode(Parser *p, SNodeKind k, int start)
{
	SNode	   *n;

	/* every parser loop makes nodes: a cancel is seen here */
	CHECK_FOR_INTERRUPTS();
	n = palloc0(sizeof(SNode));
	n->k = k;
	n->start = start;
	n->end = (p->pos > 0) ? p->toks[p->pos - 1].end : 0;
	return n;
}

static void
close_node(Parser *p, SNode *n)
{
	if (p->pos > 0)
		n->end = p->toks[p->pos - 1].end;
}

static SNode *parse_expr(Parser *p);
static SNode *parse_eq(Parser *p);

/*
 * Binary node helper: a op b, spanning both.
 */
static SNode *
mkbin(Parser *p, const char *op, SNode *a, SNode *b)
{
	SNode	   *n = mknode(p, N_BINOP, a->start);

	n->s = pstrdup(op);
	n->a = a;
	n->b = b;
	return n;
}

/*
 * A SQLite type name in CAST: words and an optional (n[,m]).  Returns the
 * affinity SQLite gives it (datatype3.html, section 3.1), or NULL.
 */
static char *
parse_cast_type(Parser *p)
{
	StringInfoData name;

	initStringInfo(&name);
	while (cur(p)->type == TK_WORD || cur(p)->type == TK_QIDENT ||
		   cur(p)->type == TK_DQIDENT)
	{
		char	   *u = pstrdup(cur(p)->val);
		char	   *c;

		for (c = u; *c; c++)
			*c = pg_ascii_toupper((unsigned char) *c);
		appendStringInfo(&name, "%s ", u);
		p->pos++;
	}
	if (accept_op(p, "("))
	{
		accept_op(p, "-");
		accept_op(p, "+");
		if (cur(p)->type != TK_INT && cur(p)->type != TK_REAL)
			return fail_syntax(p);
		p->pos++;
		if (accept_op(p, ","))
		{
			accept_op(p, "-");
			accept_op(p, "+");
			if (cur(p)->type != TK_INT && cur(p)->type != TK_REAL)
				return fail_syntax(p);
			p->pos++;
		}
		if (!expect_op(p, ")"))
			return NULL;
	}
	if (strstr(name.data, "INT"))
		return "INTEGER";
	if (strstr(name.data, "CHAR") || strstr(name.data, "CLOB") ||
		strstr(name.data, "TEXT"))
		return "TEXT";
	if (strstr(name.data, "BLOB") || name.len == 0)
		return "BLOB";
	if (strstr(name.data, "REAL") || strstr(name.data, "FLOA") ||
		strstr(name.data, "DOUB"))
		return "REAL";
	return "NUMERIC";
}

/*
 * Is this argument list exactly ('now') or (fmt, 'now')?  SQLite's date
 * functions compare 'now' case-insensitively.
 */
static bool
is_now_arg(SNode *n)
{
	return n->k == N_STR && pg_strcasecmp(n->s, "now") == 0;
}

/*
 * Function call: name '(' [DISTINCT] args | '*' ')'.  The name is checked
 * against the allow-list later, by the deparser; the 'now' forms of the
 * date functions become N_NOW here.
 */
static SNode *
parse_func(Parser *p, char *name, int start)
{
	SNode	   *n = mknode(p, N_FUNC, start);
	char	   *c;

	n->s = pstrdup(name);
	for (c = n->s; *c; c++)
		*c = pg_ascii_tolower((unsigned char) *c);
	p->pos++;					/* the '(' */
	if (accept_op(p, "*"))
		n->star = true;
	else if (!is_op(p, ")"))
	{
		if (accept_kw(p, "DISTINCT"))
			n->distinct = true;
		else
			accept_kw(p, "ALL");
		for (;;)
		{
			SNode	   *arg = parse_expr(p);

			if (arg == NULL)
				return NULL;
			n->args = lappend(n->args, arg);
			if (!accept_op(p, ","))
				break;
		}
	}
	if (!expect_op(p, ")"))
		return NULL;
	if (is_kw(p, "FILTER") || is_kw(p, "OVER"))
		return fail(p, psprintf("uses function \"%s\" as a window or filtered aggregate",
								n->s));
	close_node(p, n);

	/* datetime('now'), date('now'), time('now'), strftime('%s', 'now') */
	if (!n->star && !n->distinct)
	{
		int			nargs = list_length(n->args);
		const char *what = NULL;

		if (nargs == 1 && is_now_arg(linitial(n->args)))
		{
			if (strcmp(n->s, "datetime") == 0)
				what = "timestamp";
			else if (strcmp(n->s, "date") == 0)
				what = "date";
			else if (strcmp(n->s, "time") == 0)
				what = "time";
		}
		else if (nargs == 2 && strcmp(n->s, "strftime") == 0 &&
				 is_now_arg(lsecond(n->args)) &&
				 ((SNode *) linitial(n->args))->k == N_STR &&
				 strcmp(((SNode *) linitial(n->args))->s, "%s") == 0)
			what = "epoch";
		if (what)
		{
			n->k = N_NOW;
			n->s = pstrdup(what);
			n->args = NIL;
		}
	}
	return n;
}

static SNode *
parse_primary(Parser *p)
{
	Token	   *t = cur(p);
	int			start = t->start;
	SNode	   *n;

	switch (t->type)
	{
		case TK_INT:
			p->pos++;
			n = mknode(p, N_INT, start);
			n->s = t->val;
			return n;
		case TK_REAL:
			p->pos++;
			n = mknode(p, N_REAL, start);
			n->s = t->val;
			return n;
		case TK_STRING:
			p->pos++;
			n = mknode(p, N_STR, start);
			n->s = t->val;
			return n;
		case TK_BLOB:
			p->pos++;
			n = mknode(p, N_BLOB, start);
			n->s = t->val;
			return n;
		case TK_QIDENT:
		case TK_DQIDENT:
		case TK_WORD:
			break;
		case TK_OP:
			if (strcmp(t->val, "(") == 0)
			{
				p->pos++;
				if (is_kw(p, "SELECT") || is_kw(p, "WITH") || is_kw(p, "VALUES"))
					return fail(p, pstrdup("uses a subquery"));
				n = parse_expr(p);
				if (n == NULL)
					return NULL;
				if (is_op(p, ","))
					return fail(p, pstrdup("uses a row value"));
				if (!expect_op(p, ")"))
					return NULL;
				return n;
			}
			return fail_syntax(p);
		default:
			return fail_syntax(p);
	}

	if (t->type == TK_WORD)
	{
		if (accept_kw(p, "NULL"))
			return mknode(p, N_NULL, start);
		if (is_kw(p, "TRUE") || is_kw(p, "FALSE"))
		{
			n = mknode(p, N_BOOL, start);
			n->neg = is_kw(p, "FALSE");
			p->pos++;
			close_node(p, n);
			return n;
		}
		if (is_kw(p, "CURRENT_TIMESTAMP") || is_kw(p, "CURRENT_DATE") ||
			is_kw(p, "CURRENT_TIME"))
		{
			n = mknode(p, N_NOW, start);
			n->s = is_kw(p, "CURRENT_TIMESTAMP") ? "timestamp" :
				is_kw(p, "CURRENT_DATE") ? "date" : "time";
			p->pos++;
			close_node(p, n);
			return n;
		}
		if (is_kw(p, "EXISTS"))
			return fail(p, pstrdup("uses a subquery"));
		if (is_kw(p, "RAISE"))
			return fail(p, pstrdup("uses RAISE"));
		if (accept_kw(p, "CAST"))
		{
			n = mknode(p, N_CAST, start);
			if (!expect_op(p, "("))
				return NULL;
			n->a = parse_expr(p);
			if (n->a == NULL || !expect_kw(p, "AS"))
				return NULL;
			n->s = parse_cast_type(p);
			if (n->s == NULL || !expect_op(p, ")"))
				return NULL;
			close_node(p, n);
			return n;
		}
		if (accept_kw(p, "CASE"))
		{
			n = mknode(p, N_CASE, start);
			if (!is_kw(p, "WHEN"))
			{
				n->a = parse_expr(p);
				if (n->a == NULL)
					return NULL;
			}
			while (accept_kw(p, "WHEN"))
			{
				SNode	   *w = parse_expr(p);
				SNode	   *r;

				if (w == NULL || !expect_kw(p, "THEN"))
					return NULL;
				r = parse_expr(p);
				if (r == NULL)
					return NULL;
				n->args = lappend(lappend(n->args, w), r);
			}
			if (n->args == NIL)
				return fail_syntax(p);
			if (accept_kw(p, "ELSE"))
			{
				n->c = parse_expr(p);
				if (n->c == NULL)
					return NULL;
			}
			if (!expect_kw(p, "END"))
				return NULL;
			close_node(p, n);
			return n;
		}
		if (is_reserved(t->val))
			return fail_syntax(p);
		if (p->toks[p->pos + 1].type == TK_OP &&
			strcmp(p->toks[p->pos + 1].val, "(") == 0)
		{
			p->pos++;
			return parse_func(p, t->val, start);
		}
	}

	/* column reference: name, or qualifier.name (view), or more */
	n = mknode(p, N_COL, start);
	n->s = t->val;
	n->neg = (t->type == TK_DQIDENT);	/* "x": SQLite may read a string */
	p->pos++;
	if (accept_op(p, "."))
	{
		Token	   *t2 = cur(p);

		if (t2->type == TK_OP && strcmp(t2->val, "*") == 0)
		{
			p->pos++;
			n->k = N_STAR;
			n->s2 = n->s;
			n->s = NULL;
		}
		else if (t2->type == TK_WORD || t2->type == TK_QIDENT ||
				 t2->type == TK_DQIDENT)
		{
			p->pos++;
			n->s2 = n->s;
			n->s = t2->val;
			n->neg = false;
			if (is_op(p, "."))
				return fail(p, pstrdup("uses a schema-qualified column reference"));
			if (is_op(p, "("))
				return fail(p, psprintf("calls the schema-qualified function \"%s.%s\"",
										n->s2, n->s));
		}
		else
			return fail_syntax(p);
	}
	close_node(p, n);
	return n;
}

static SNode *
parse_unary(Parser *p)
{
	int			start = cur(p)->start;
	SNode	   *n;

	if (is_op(p, "-") || is_op(p, "+"))
	{
		n = mknode(p, N_UNARY, start);
		n->s = pstrdup(cur(p)->val);
		p->pos++;
		if (++p->depth > MAX_DEPTH)
			return fail(p, pstrdup("is nested too deeply"));
		n->a = parse_unary(p);
		p->depth--;
		if (n->a == NULL)
			return NULL;
		close_node(p, n);
		return n;
	}
	if (is_op(p, "~"))
		return fail(p, pstrdup("uses bitwise operator \"~\""));
	if (++p->depth > MAX_DEPTH)
		return fail(p, pstrdup("is nested too deeply"));
	n = parse_primary(p);
	p->depth--;
	if (n == NULL)
		return NULL;

	/* postfix COLLATE */
	while (accept_kw(p, "COLLATE"))
	{
		Token	   *t = cur(p);

		if (t->type != TK_WORD && t->type != TK_QIDENT && t->type != TK_DQIDENT &&
			t->type != TK_STRING)
			return fail_syntax(p);
		p->pos++;
		if (pg_strcasecmp(t->val, "BINARY") != 0)
			return fail(p, psprintf("uses collation \"%s\", which has no exact PostgreSQL equivalent",
									t->val));
		/* BINARY: byte order, which the deparser asks for on every text comparison */
	}
	return n;
}

static SNode *
parse_concat(Parser *p)
{
	SNode	   *n = parse_unary(p);

	while (n != NULL)
	{
		if (is_op(p, "->") || is_op(p, "->>"))
			return fail(p, pstrdup("uses a JSON operator"));
		if (!accept_op(p, "||"))
			break;
		n = mkbin(p, "||", n, parse_unary(p));
		if (n->b == NULL)
			return NULL;
		close_node(p, n);
	}
	return n;
}

static SNode *
parse_mul(Parser *p)
{
	SNode	   *n = parse_concat(p);

	while (n != NULL && (is_op(p, "*") || is_op(p, "/") || is_op(p, "%")))
	{
		char	   *op = cur(p)->val;

		p->pos++;
		n = mkbin(p, op, n, parse_concat(p));
		if (n->b == NULL)
			return NULL;
		close_node(p, n);
	}
	return n;
}

static SNode *
parse_add(Parser *p)
{
	SNode	   *n = parse_mul(p);

	while (n != NULL && (is_op(p, "+") || is_op(p, "-")))
	{
		char	   *op = cur(p)->val;

		p->pos++;
		n = mkbin(p, op, n, parse_mul(p));
		if (n->b == NULL)
			return NULL;
		close_node(p, n);
	}
	if (n != NULL && (is_op(p, "&") || is_op(p, "|") || is_op(p, "<<") ||
					  is_op(p, ">>")))
		return fail(p, psprintf("uses bitwise operator \"%s\"", cur(p)->val));
	return n;
}

static SNode *
parse_rel(Parser *p)
{
	SNode	   *n = parse_add(p);

	while (n != NULL && (is_op(p, "<") || is_op(p, "<=") || is_op(p, ">") ||
						 is_op(p, ">=")))
	{
		char	   *op = cur(p)->val;

		p->pos++;
		n = mkbin(p, op, n, parse_add(p));
		if (n->b == NULL)
			return NULL;
		close_node(p, n);
	}
	return n;
}

/*
 * The equality level of SQLite's grammar: = == != <> IS, BETWEEN, IN,
 * LIKE, GLOB, ISNULL, NOTNULL, NOT NULL, all left-associative.
 */
static SNode *
parse_eq(Parser *p)
{
	SNode	   *n = parse_rel(p);

	while (n != NULL)
	{
		int			start = n->start;
		bool		neg = false;
		SNode	   *m;

		if (is_op(p, "=") || is_op(p, "==") || is_op(p, "!=") || is_op(p, "<>"))
		{
			const char *op = (is_op(p, "=") || is_op(p, "==")) ? "=" : "<>";

			p->pos++;
			n = mkbin(p, op, n, parse_rel(p));
			if (n->b == NULL)
				return NULL;
			close_node(p, n);
			continue;
		}
		if (accept_kw(p, "ISNULL") || (is_kw(p, "NOTNULL") && (neg = true)) ||
			(is_kw(p, "NOT") && is_kw_at(p, 1, "NULL") && (neg = true)))
		{
			if (neg)
				p->pos += is_kw(p, "NOTNULL") ? 1 : 2;
			m = mknode(p, N_NULLTEST, start);
			m->a = n;
			m->neg = neg;
			n = m;
			continue;
		}
		if (accept_kw(p, "IS"))
		{
			neg = accept_kw(p, "NOT");
			if (accept_kw(p, "DISTINCT"))
			{
				if (!expect_kw(p, "FROM"))
					return NULL;
				neg = !neg;
			}
			if (is_kw(p, "TRUE") || is_kw(p, "FALSE"))
			{
				m = mknode(p, N_ISBOOL, start);
				m->s = is_kw(p, "TRUE") ? "true" : "false";
				p->pos++;
				m->a = n;
				m->neg = neg;
				close_node(p, m);
				n = m;
				continue;
			}
			m = mknode(p, N_IS, start);
			m->a = n;
			m->neg = neg;
			m->b = parse_rel(p);
			if (m->b == NULL)
				return NULL;
			close_node(p, m);
			if (m->b->k == N_NULL)
			{
				m->k = N_NULLTEST;
				m->b = NULL;
			}
			n = m;
			continue;
		}
		if (is_kw(p, "NOT") &&
			(is_kw_at(p, 1, "BETWEEN") || is_kw_at(p, 1, "IN") ||
			 is_kw_at(p, 1, "LIKE") || is_kw_at(p, 1, "GLOB") ||
			 is_kw_at(p, 1, "MATCH") || is_kw_at(p, 1, "REGEXP")))
		{
			p->pos++;
			neg = true;
		}
		if (accept_kw(p, "BETWEEN"))
		{
			m = mknode(p, N_BETWEEN, start);
			m->a = n;
			m->neg = neg;
			m->b = parse_rel(p);
			if (m->b == NULL || !expect_kw(p, "AND"))
				return NULL;
			m->c = parse_rel(p);
			if (m->c == NULL)
				return NULL;
			close_node(p, m);
			n = m;
			continue;
		}
		if (accept_kw(p, "IN"))
		{
			m = mknode(p, N_IN, start);
			m->a = n;
			m->neg = neg;
			if (!is_op(p, "("))
				return fail(p, pstrdup("uses IN with a table or function"));
			p->pos++;
			if (is_kw(p, "SELECT") || is_kw(p, "WITH") || is_kw(p, "VALUES"))
				return fail(p, pstrdup("uses a subquery"));
			if (is_op(p, ")"))
				return fail(p, pstrdup("uses an empty IN list"));
			for (;;)
			{
				SNode	   *e = parse_expr(p);

				if (e == NULL)
					return NULL;
				m->args = lappend(m->args, e);
				if (!accept_op(p, ","))
					break;
			}
			if (!expect_op(p, ")"))
				return NULL;
			close_node(p, m);
			n = m;
			continue;
		}
		if (is_kw(p, "LIKE") || is_kw(p, "GLOB"))
		{
			m = mknode(p, is_kw(p, "LIKE") ? N_LIKE : N_GLOB, start);
			p->pos++;
			m->a = n;
			m->neg = neg;
			m->b = parse_rel(p);
			if (m->b == NULL)
				return NULL;
			if (accept_kw(p, "ESCAPE"))
			{
				if (m->k == N_GLOB)
					return fail_syntax(p);
				m->c = parse_rel(p);
				if (m->c == NULL)
					return NULL;
			}
			close_node(p, m);
			n = m;
			continue;
		}
		if (is_kw(p, "MATCH") || is_kw(p, "REGEXP"))
			return fail(p, psprintf("uses operator %s", cur(p)->val));
		if (neg)
			return fail_syntax(p);
		break;
	}
	return n;
}

static SNode *
parse_not(Parser *p)
{
	if (is_kw(p, "NOT"))
	{
		SNode	   *n = mknode(p, N_UNARY, cur(p)->start);

		p->pos++;
		n->s = "NOT";
		if (++p->depth > MAX_DEPTH)
			return fail(p, pstrdup("is nested too deeply"));
		n->a = parse_not(p);
		p->depth--;
		if (n->a == NULL)
			return NULL;
		close_node(p, n);
		return n;
	}
	return parse_eq(p);
}

static SNode *
parse_and(Parser *p)
{
	SNode	   *n = parse_not(p);

	while (n != NULL && accept_kw(p, "AND"))
	{
		n = mkbin(p, "AND", n, parse_not(p));
		if (n->b == NULL)
			return NULL;
		close_node(p, n);
	}
	return n;
}

static SNode *
parse_expr(Parser *p)
{
	SNode	   *n;

	if (++p->depth > MAX_DEPTH)
		return fail(p, pstrdup("is nested too deeply"));
	n = parse_and(p);
	while (n != NULL && accept_kw(p, "OR"))
	{
		n = mkbin(p, "OR", n, parse_and(p));
		if (n->b == NULL)
			return NULL;
		close_node(p, n);
	}
	p->depth--;
	return n;
}

/* Depth of a parsed tree (long operator chains are built iteratively). */
static int
tree_depth(SNode *n)
{
	int			dep;
	int			d;
	ListCell   *lc;

	if (n == NULL)
		return 0;
	CHECK_FOR_INTERRUPTS();
	/* Max() evaluates its arguments twice: call each subtree once */
	dep = tree_depth(n->a);
	d = tree_depth(n->b);
	dep = Max(dep, d);
	d = tree_depth(n->c);
	dep = Max(dep, d);
	foreach(lc, n->args)
	{
		d = tree_depth(lfirst(lc));
		dep = Max(dep, d);
	}
	return dep + 1;
}

/* ---------------------------------------------------------------------
 * Deparser: our tree to PostgreSQL text
 * ---------------------------------------------------------------------
 */

/*
 * What PostgreSQL type an operand has, as far as the deparser can tell.
 * This decides where SQLite's and PostgreSQL's meanings could part.
 */
typedef enum TypeClass
{
	TC_UNKNOWN,					/* a column whose type we were not told */
	TC_NULL,
	TC_INT,
	TC_FLOAT,					/* float4/float8 column, or a real literal */
	TC_NUMERIC,					/* numeric column */
	TC_TEXT,
	TC_BOOL,
	TC_BLOB,
	TC_OTHER					/* date, time, uuid, json, ... */
} TypeClass;

#define TC_IS_NUMBER(tc) ((tc) == TC_INT || (tc) == TC_FLOAT || (tc) == TC_NUMERIC)

/* A FROM item of a view. */
typedef struct FromItem
{
	SqliteTableMap *table;
	char	   *alias;			/* PostgreSQL alias (unquoted) */
	char	   *sqlite_alias;	/* name SQLite code uses for it */
} FromItem;

typedef struct Deparse
{
	SqliteExprKind kind;
	bool		view;
	List	   *colmap;			/* expression mode */
	FromItem   *items;			/* view mode */
	int			nitems;
	bool		allow_agg;		/* view target list, HAVING, ORDER BY */
	char	   *last_col;		/* PostgreSQL name of the last column deparsed */
	char	   *reason;
} Deparse;

static bool dp_expr(Deparse *d, SNode *n, StringInfo buf, TypeClass *tc);
static char *ascii_lower(const char *s);

static bool
dfail(Deparse *d, char *reason)
{
	if (d->reason == NULL)
		d->reason = reason;
	return false;
}

static TypeClass
class_of_type(Oid typid)
{
	if (!OidIsValid(typid))
		return TC_UNKNOWN;
	typid = getBaseType(typid);
	switch (typid)
	{
		case INT2OID:
		case INT4OID:
		case INT8OID:
			return TC_INT;
		case FLOAT4OID:
		case FLOAT8OID:
			return TC_FLOAT;
		case NUMERICOID:
			return TC_NUMERIC;
		case TEXTOID:
		case VARCHAROID:
			return TC_TEXT;
		case BOOLOID:
			return TC_BOOL;
		case BYTEAOID:
			return TC_BLOB;
		default:
			return TC_OTHER;
	}
}

/*
 * Find a column in a name map, matching SQLite's ASCII case-insensitive
 * comparison.
 */
static SqliteNameMap *
find_column(List *colmap, const char *name)
{
	ListCell   *lc;

	foreach(lc, colmap)
	{
		SqliteNameMap *m = lfirst(lc);

		if (pg_strcasecmp(m->sqlite_name, name) == 0)
			return m;
	}
	return NULL;
}

static bool
dp_column(Deparse *d, SNode *n, StringInfo buf, TypeClass *tc)
{
	SqliteNameMap *m = NULL;
	int			i;

	if (!d->view)
	{
		if (d->kind == SQLITE_EXPR_DEFAULT)
			return dfail(d, psprintf("refers to column \"%s\", which a DEFAULT cannot", n->s));
		if (n->s2 != NULL)
			return dfail(d, psprintf("uses the qualified column reference \"%s.%s\"",
									 n->s2, n->s));
		m = find_column(d->colmap, n->s);
		if (m == NULL)
			return dfail(d, n->neg ?
						 psprintf("uses \"%s\", which is not a column (SQLite would read it as a string)", n->s) :
						 psprintf("refers to unknown column \"%s\"", n->s));
		appendStringInfoString(buf, quote_identifier(m->pg_name));
	}
	else
	{
		FromItem   *found = NULL;

		for (i = 0; i < d->nitems; i++)
		{
			FromItem   *fi = &d->items[i];
			SqliteNameMap *cm;

			if (n->s2 != NULL && pg_strcasecmp(fi->sqlite_alias, n->s2) != 0)
				continue;
			cm = find_column(fi->table->colmap, n->s);
			if (cm == NULL)
				continue;
			if (found != NULL)
				return dfail(d, psprintf("refers to ambiguous column \"%s\"", n->s));
			found = fi;
			m = cm;
		}
		if (found == NULL)
			return dfail(d, n->s2 ?
						 psprintf("refers to unknown column \"%s.%s\"", n->s2, n->s) :
						 psprintf("refers to unknown column \"%s\"", n->s));
		appendStringInfo(buf, "%s.%s", quote_identifier(found->alias),
						 quote_identifier(m->pg_name));
	}
	d->last_col = m->pg_name;
	*tc = class_of_type(m->pg_type);
	if (*tc == TC_OTHER && OidIsValid(m->pg_type) &&
		getBaseType(m->pg_type) == BPCHAROID)
		return dfail(d, psprintf("uses column \"%s\" of type character, whose comparisons ignore trailing spaces",
								 n->s));
	return true;
}

/* Append a SQL string literal, safe under any standard_conforming_strings. */
static void
append_literal(StringInfo buf, const char *s)
{
	appendStringInfoString(buf, quote_literal_cstr(s));
}

/* Append (x COLLATE "C") to compare in byte order, as SQLite's BINARY. */
static void
append_collate_c(StringInfo buf, const char *x)
{
	appendStringInfo(buf, "(%s COLLATE pg_catalog.\"C\")", x);
}

/*
 * Deparse an operand of an ordering comparison (< <= > >= BETWEEN,
 * min/max, ORDER BY).  SQLite orders text by bytes (BINARY); PostgreSQL by
 * the database collation: text operands get COLLATE "C".  A string
 * literal can always take it (an unknown-type literal coerced to another
 * type drops it); a column we do not know the type of cannot, and two of
 * those could be text: refused.  The caller checks the pair.
 */
static bool
dp_ordered(Deparse *d, SNode *n, StringInfo buf, TypeClass *tc)
{
	StringInfoData sub;

	initStringInfo(&sub);
	if (!dp_expr(d, n, &sub, tc))
		return false;
	if (*tc == TC_TEXT)
		append_collate_c(buf, sub.data);
	else
		appendStringInfoString(buf, sub.data);
	return true;
}

static bool
ordering_ok(Deparse *d, TypeClass a, TypeClass b)
{
	if (a == TC_BLOB || b == TC_BLOB)
		return dfail(d, pstrdup("compares blobs by order"));
	if ((a == TC_UNKNOWN && !TC_IS_NUMBER(b) && b != TC_NULL && b != TC_TEXT) ||
		(b == TC_UNKNOWN && !TC_IS_NUMBER(a) && a != TC_NULL && a != TC_TEXT))
		return dfail(d, pstrdup("compares values by order whose types are not known (text order differs)"));
	return true;
}

/* TRUE/FALSE: 1/0 in SQLite, unless compared with a boolean column. */
static void
append_bool(StringInfo buf, SNode *n, bool as_bool)
{
	if (as_bool)
		appendStringInfoString(buf, n->neg ? "false" : "true");
	else
		appendStringInfoString(buf, n->neg ? "0" : "1");
}

/*
 * Deparse both sides of an equality-like comparison, writing TRUE/FALSE
 * as booleans when the other side is a boolean.
 */
static bool is_int01(SNode *n);

static bool
dp_pair(Deparse *d, SNode *a, SNode *b, StringInfo sa, StringInfo sb,
		TypeClass *ta, TypeClass *tb)
{
	if (a->k == N_BOOL && b->k == N_BOOL)
	{
		append_bool(sa, a, false);
		append_bool(sb, b, false);
		*ta = *tb = TC_INT;
		return true;
	}
	if (a->k == N_BOOL)
	{
		if (!dp_expr(d, b, sb, tb))
			return false;
		append_bool(sa, a, *tb == TC_BOOL);
		*ta = (*tb == TC_BOOL) ? TC_BOOL : TC_INT;
		return true;
	}
	/*
	 * A boolean column compared with 0 or 1: SQLite stores booleans as those
	 * integers, and the migrated column holds exactly false and true.
	 */
	if (is_int01(a))
	{
		if (!dp_expr(d, b, sb, tb))
			return false;
		if (*tb == TC_BOOL)
		{
			appendStringInfoString(sa, strcmp(a->s, "1") == 0 ? "true" : "false");
			*ta = TC_BOOL;
			return true;
		}
		return dp_expr(d, a, sa, ta);
	}
	if (!dp_expr(d, a, sa, ta))
		return false;
	if (b->k == N_BOOL)
	{
		append_bool(sb, b, *ta == TC_BOOL);
		*tb = (*ta == TC_BOOL) ? TC_BOOL : TC_INT;
		return true;
	}
	if (*ta == TC_BOOL && is_int01(b))
	{
		appendStringInfoString(sb, strcmp(b->s, "1") == 0 ? "true" : "false");
		*tb = TC_BOOL;
		return true;
	}
	return dp_expr(d, b, sb, tb);
}

/* Is n the integer literal 0 or 1? */
static bool
is_int01(SNode *n)
{
	return n->k == N_INT && n->s &&
		(strcmp(n->s, "0") == 0 || strcmp(n->s, "1") == 0);
}

/* Is this a nonzero numeric literal (possibly signed)? */
static bool
is_nonzero_literal(SNode *n, bool *is_int)
{
	while (n->k == N_UNARY && (strcmp(n->s, "-") == 0 || strcmp(n->s, "+") == 0))
		n = n->a;
	if (n->k == N_INT || n->k == N_REAL)
	{
		*is_int = (n->k == N_INT);
		return strtod(n->s, NULL) != 0.0;
	}
	return false;
}

static bool
dp_binop(Deparse *d, SNode *n, StringInfo buf, TypeClass *tc)
{
	StringInfoData sa,
				sb;
	TypeClass	ta,
				tb;
	const char *op = n->s;

	initStringInfo(&sa);
	initStringInfo(&sb);

	if (strcmp(op, "AND") == 0 || strcmp(op, "OR") == 0)
	{
		if (!dp_expr(d, n->a, &sa, &ta) || !dp_expr(d, n->b, &sb, &tb))
			return false;
		appendStringInfo(buf, "(%s %s %s)", sa.data, op, sb.data);
		*tc = TC_BOOL;
		return true;
	}
	if (strcmp(op, "=") == 0 || strcmp(op, "<>") == 0)
	{
		/*
		 * Equality: byte equality of text in both (PostgreSQL's
		 * deterministic collations compare equal only identical strings);
		 * numbers compare by value in both.  Mixed types PostgreSQL cannot
		 * compare fail when the constraint is created, not silently.
		 */
		if (!dp_pair(d, n->a, n->b, &sa, &sb, &ta, &tb))
			return false;
		if (ta == TC_BLOB || tb == TC_BLOB)
		{
			if (!((ta == TC_BLOB || ta == TC_NULL) && (tb == TC_BLOB || tb == TC_NULL)))
				return dfail(d, pstrdup("compares a blob with another type"));
		}
		appendStringInfo(buf, "(%s %s %s)", sa.data, op, sb.data);
		*tc = TC_BOOL;
		return true;
	}
	if (strcmp(op, "<") == 0 || strcmp(op, "<=") == 0 ||
		strcmp(op, ">") == 0 || strcmp(op, ">=") == 0)
	{
		if (!dp_ordered(d, n->a, &sa, &ta) || !dp_ordered(d, n->b, &sb, &tb))
			return false;
		if (!ordering_ok(d, ta, tb))
			return false;
		appendStringInfo(buf, "(%s %s %s)", sa.data, op, sb.data);
		*tc = TC_BOOL;
		return true;
	}
	if (strcmp(op, "||") == 0)
	{
		/*
		 * Concatenation: text and integers print the same in both.  Reals
		 * do not (SQLite writes 1.0, PostgreSQL 1), nor do blobs.
		 */
		if (!dp_expr(d, n->a, &sa, &ta) || !dp_expr(d, n->b, &sb, &tb))
			return false;
		if ((ta != TC_TEXT && ta != TC_INT && ta != TC_NULL) ||
			(tb != TC_TEXT && tb != TC_INT && tb != TC_NULL))
			return dfail(d, pstrdup("concatenates a value that is not known to be text or an integer"));
		if (ta != TC_TEXT && tb != TC_TEXT)
			return dfail(d, pstrdup("concatenates two values none of which is text"));
		appendStringInfo(buf, "(%s || %s)", sa.data, sb.data);
		*tc = TC_TEXT;
		return true;
	}

	/* arithmetic: + - * / % */
	if (!dp_expr(d, n->a, &sa, &ta) || !dp_expr(d, n->b, &sb, &tb))
		return false;
	if ((!TC_IS_NUMBER(ta) && ta != TC_UNKNOWN && ta != TC_NULL) ||
		(!TC_IS_NUMBER(tb) && tb != TC_UNKNOWN && tb != TC_NULL))
		return dfail(d, psprintf("applies \"%s\" to a value that is not a number", op));
	if (strcmp(op, "/") == 0 || strcmp(op, "%") == 0)
	{
		bool		int_lit;

		/*
		 * SQLite returns NULL on division by zero where PostgreSQL raises
		 * an error, and divides integers or reals depending on the values
		 * stored: only a nonzero literal divisor, and a dividend whose
		 * kind of division is the same in both, are accepted.
		 */
		if (!is_nonzero_literal(n->b, &int_lit))
			return dfail(d, psprintf("uses \"%s\" with a divisor that is not a nonzero number literal", op));
		if (strcmp(op, "%") == 0 && !(int_lit && ta == TC_INT))
			return dfail(d, pstrdup("uses \"%\" on values that are not known to be integers"));
		if (strcmp(op, "/") == 0 && int_lit && ta != TC_INT && ta != TC_FLOAT)
			return dfail(d, pstrdup("divides by an integer a value that is not known to be an integer or a real"));
	}
	appendStringInfo(buf, "(%s %s %s)", sa.data, op, sb.data);
	if (ta == TC_INT && tb == TC_INT)
		*tc = TC_INT;
	else if (TC_IS_NUMBER(ta) && TC_IS_NUMBER(tb))
		*tc = (ta == TC_NUMERIC || tb == TC_NUMERIC) ? TC_NUMERIC : TC_FLOAT;
	else
		*tc = TC_UNKNOWN;
	return true;
}

/*
 * LIKE: SQLite's is case-insensitive for ASCII letters only and has no
 * escape character unless ESCAPE names one.  PostgreSQL's lower() under the
 * "C" collation folds ASCII letters only, so lower(x COLLATE "C") LIKE
 * lower(p COLLATE "C") ESCAPE '' matches what SQLite matches.  (Assumes
 * PRAGMA case_sensitive_like was off, SQLite's default.)
 */
static bool
dp_like(Deparse *d, SNode *n, StringInfo buf)
{
	StringInfoData sa,
				sb;
	TypeClass	ta,
				tb;
	const char *esc = "";
	bool		fold = true;

	initStringInfo(&sa);
	initStringInfo(&sb);
	if (n->c != NULL)
	{
		if (n->c->k != N_STR || pg_mblen(n->c->s) != (int) strlen(n->c->s) ||
			strlen(n->c->s) == 0)
			return dfail(d, pstrdup("uses LIKE with an ESCAPE that is not a one-character string"));
		esc = n->c->s;
		if (isalpha((unsigned char) esc[0]))
			return dfail(d, pstrdup("uses LIKE with a letter as ESCAPE character"));
	}
	if (!dp_expr(d, n->a, &sa, &ta) || !dp_expr(d, n->b, &sb, &tb))
		return false;
	if ((ta != TC_TEXT && ta != TC_UNKNOWN && ta != TC_NULL) ||
		(tb != TC_TEXT && tb != TC_UNKNOWN && tb != TC_NULL))
		return dfail(d, pstrdup("uses LIKE on a value that is not text"));
	if (n->b->k == N_STR)
	{
		const char *c;

		fold = false;
		for (c = n->b->s; *c; c++)
			if (isalpha((unsigned char) *c))
				fold = true;
	}
	if (fold && n->b->k == N_STR)
	{
		/* a literal pattern is folded here, as lower() would */
		resetStringInfo(&sb);
		append_literal(&sb, ascii_lower(n->b->s));
	}
	else if (fold)
	{
		char	   *p = pstrdup(sb.data);

		resetStringInfo(&sb);
		appendStringInfo(&sb, "pg_catalog.lower((%s) COLLATE pg_catalog.\"C\")", p);
	}
	if (fold)
		appendStringInfo(buf, "(pg_catalog.lower((%s) COLLATE pg_catalog.\"C\") %sLIKE %s ESCAPE ",
						 sa.data, n->neg ? "NOT " : "", sb.data);
	else
		appendStringInfo(buf, "(%s %sLIKE %s ESCAPE ", sa.data,
						 n->neg ? "NOT " : "", sb.data);
	append_literal(buf, esc);
	appendStringInfoChar(buf, ')');
	return true;
}

/*
 * GLOB with a literal pattern without character classes: * and ? become %
 * and _, and PostgreSQL's own wildcard characters are escaped.  Both are
 * case-sensitive and match characters, not bytes.
 */
static bool
dp_glob(Deparse *d, SNode *n, StringInfo buf)
{
	StringInfoData sa,
				pat;
	TypeClass	ta;
	const char *c;

	if (n->b->k != N_STR)
		return dfail(d, pstrdup("uses GLOB with a pattern that is not a string literal"));
	initStringInfo(&sa);
	initStringInfo(&pat);
	for (c = n->b->s; *c; c++)
	{
		if (*c == '[' || *c == ']')
			return dfail(d, pstrdup("uses GLOB with a character class"));
		if (*c == '*')
			appendStringInfoChar(&pat, '%');
		else if (*c == '?')
			appendStringInfoChar(&pat, '_');
		else
		{
			if (*c == '%' || *c == '_' || *c == '\\')
				appendStringInfoChar(&pat, '\\');
			appendStringInfoChar(&pat, *c);
		}
	}
	if (!dp_expr(d, n->a, &sa, &ta))
		return false;
	if (ta != TC_TEXT && ta != TC_UNKNOWN && ta != TC_NULL)
		return dfail(d, pstrdup("uses GLOB on a value that is not text"));
	appendStringInfo(buf, "(%s %sLIKE ", sa.data, n->neg ? "NOT " : "");
	append_literal(buf, pat.data);
	appendStringInfoString(buf, " ESCAPE ");
	append_literal(buf, "\\");
	appendStringInfoChar(buf, ')');
	return true;
}

/* Is this function one of SQLite's aggregates we translate? */
static bool
is_aggregate(SNode *n)
{
	return strcmp(n->s, "count") == 0 || strcmp(n->s, "sum") == 0 ||
		((strcmp(n->s, "min") == 0 || strcmp(n->s, "max") == 0) &&
		 list_length(n->args) == 1);
}

/*
 * Function calls: the allow-list.  Every entry has the same meaning in
 * SQLite and PostgreSQL for the argument types it is accepted with; an
 * argument of another type makes PostgreSQL fail when the object is
 * created, never silently differ.
 */
static bool
dp_func(Deparse *d, SNode *n, StringInfo buf, TypeClass *tc)
{
	int			nargs = list_length(n->args);
	StringInfoData a[3];
	TypeClass	t[3] = {TC_UNKNOWN, TC_UNKNOWN, TC_UNKNOWN};
	ListCell   *lc;
	int			i;

	if (is_aggregate(n))
	{
		/*
		 * count(*), count([DISTINCT] x): the same in both.  min(x), max(x):
		 * the same, text compared in byte order.  sum(x): the same value
		 * (SQLite fails on integer overflow where PostgreSQL widens).
		 * avg() and total() return reals in SQLite and numeric for
		 * integers in PostgreSQL: refused.
		 */
		StringInfoData arg;
		TypeClass	ta = TC_UNKNOWN;

		if (!d->view || !d->allow_agg)
			return dfail(d, psprintf("uses aggregate function \"%s\" where none is allowed", n->s));
		initStringInfo(&arg);
		if (n->star)
		{
			if (strcmp(n->s, "count") != 0 || nargs != 0)
				return dfail(d, psprintf("uses \"%s(*)\"", n->s));
			appendStringInfoString(buf, "pg_catalog.count(*)");
			*tc = TC_INT;
			return true;
		}
		if (nargs != 1)
			return dfail(d, psprintf("calls \"%s\" with %d arguments", n->s, nargs));
		d->allow_agg = false;	/* no nested aggregates */
		if (strcmp(n->s, "min") == 0 || strcmp(n->s, "max") == 0)
		{
			if (!dp_ordered(d, linitial(n->args), &arg, &ta))
				return false;
			if (!ordering_ok(d, ta, TC_INT) || ta == TC_UNKNOWN)
				return dfail(d, psprintf("uses \"%s\" on a value whose type is not known", n->s));
		}
		else if (!dp_expr(d, linitial(n->args), &arg, &ta))
			return false;
		d->allow_agg = true;
		if (strcmp(n->s, "sum") == 0 && ta != TC_INT)
			return dfail(d, pstrdup("uses \"sum\" on values that are not known to be integers"));
		appendStringInfo(buf, "pg_catalog.%s(%s%s)", n->s,
						 n->distinct ? "DISTINCT " : "", arg.data);
		*tc = (strcmp(n->s, "count") == 0) ? TC_INT :
			(strcmp(n->s, "sum") == 0) ? TC_NUMERIC : ta;
		return true;
	}
	{
		static const char *const known[] = {
			"coalesce", "ifnull", "iif", "nullif", "abs", "length", "lower",
			"upper", "instr", "substr", "substring", "trim", "ltrim", "rtrim",
			"replace", NULL
		};

		for (i = 0; known[i]; i++)
			if (strcmp(n->s, known[i]) == 0)
				break;
		if (known[i] == NULL)
		{
			if (strcmp(n->s, "max") == 0 || strcmp(n->s, "min") == 0)
				return dfail(d, psprintf("calls the multi-argument \"%s\", which returns NULL if any argument is NULL where PostgreSQL's %s ignores NULLs",
										 n->s, strcmp(n->s, "max") == 0 ? "GREATEST" : "LEAST"));
			return dfail(d, psprintf("calls function \"%s\", which is not on the allow-list", n->s));
		}
	}
	if (n->star || n->distinct)
		return dfail(d, psprintf("calls \"%s\" with %s", n->s, n->star ? "*" : "DISTINCT"));

	if (nargs > 3 && strcmp(n->s, "coalesce") != 0)
		return dfail(d, psprintf("calls \"%s\" with %d arguments", n->s, nargs));

	/* coalesce(a, b, ...), ifnull(a, b): the first non-NULL argument. */
	if (strcmp(n->s, "coalesce") == 0 || strcmp(n->s, "ifnull") == 0)
	{
		TypeClass	res = TC_NULL;

		if (nargs < 2 || (strcmp(n->s, "ifnull") == 0 && nargs != 2))
			return dfail(d, psprintf("calls \"%s\" with %d arguments", n->s, nargs));
		appendStringInfoString(buf, "COALESCE(");
		i = 0;
		foreach(lc, n->args)
		{
			TypeClass	ta;

			if (i++ > 0)
				appendStringInfoString(buf, ", ");
			if (!dp_expr(d, lfirst(lc), buf, &ta))
				return false;
			if (res == TC_NULL)
				res = ta;
			else if (ta != res && ta != TC_NULL)
				res = TC_UNKNOWN;
		}
		appendStringInfoChar(buf, ')');
		*tc = res;
		return true;
	}
	/* iif(c, a, b): CASE WHEN c THEN a ELSE b END in both. */
	if (strcmp(n->s, "iif") == 0)
	{
		SNode		cs;

		if (nargs != 3)
			return dfail(d, psprintf("calls \"%s\" with %d arguments", n->s, nargs));
		memset(&cs, 0, sizeof(cs));
		cs.k = N_CASE;
		cs.args = list_make2(linitial(n->args), lsecond(n->args));
		cs.c = lthird(n->args);
		return dp_expr(d, &cs, buf, tc);
	}

	i = 0;
	foreach(lc, n->args)
	{
		initStringInfo(&a[i]);
		if (!dp_expr(d, lfirst(lc), &a[i], &t[i]))
			return false;
		i++;
	}

#define ARGS(lo, hi) \
	do { if (nargs < (lo) || nargs > (hi)) \
			return dfail(d, psprintf("calls \"%s\" with %d arguments", n->s, nargs)); } while (0)
#define TEXTY(x) ((x) == TC_TEXT || (x) == TC_UNKNOWN || (x) == TC_NULL)

	/* nullif(a, b): NULL if equal, else a, in both. */
	if (strcmp(n->s, "nullif") == 0)
	{
		ARGS(2, 2);
		appendStringInfo(buf, "NULLIF(%s, %s)", a[0].data, a[1].data);
		*tc = t[0];
		return true;
	}
	/* abs(x): absolute value of a number, same type, in both. */
	if (strcmp(n->s, "abs") == 0)
	{
		ARGS(1, 1);
		if (!TC_IS_NUMBER(t[0]) && t[0] != TC_UNKNOWN && t[0] != TC_NULL)
			return dfail(d, pstrdup("calls \"abs\" on a value that is not a number"));
		appendStringInfo(buf, "pg_catalog.abs(%s)", a[0].data);
		*tc = t[0];
		return true;
	}
	/*
	 * length(x): characters of text, bytes of a blob, in both (text in
	 * PostgreSQL holds no NUL, where SQLite would stop counting).
	 */
	if (strcmp(n->s, "length") == 0)
	{
		ARGS(1, 1);
		if (!TEXTY(t[0]) && t[0] != TC_BLOB)
			return dfail(d, pstrdup("calls \"length\" on a value that is not text or a blob"));
		appendStringInfo(buf, "pg_catalog.length(%s)", a[0].data);
		*tc = TC_INT;
		return true;
	}
	/*
	 * lower(x), upper(x): SQLite folds ASCII letters only; so does
	 * PostgreSQL under the "C" collation.
	 */
	if (strcmp(n->s, "lower") == 0 || strcmp(n->s, "upper") == 0)
	{
		ARGS(1, 1);
		if (!TEXTY(t[0]))
			return dfail(d, psprintf("calls \"%s\" on a value that is not text", n->s));
		appendStringInfo(buf, "pg_catalog.%s((%s) COLLATE pg_catalog.\"C\")",
						 n->s, a[0].data);
		*tc = TC_TEXT;
		return true;
	}
	/*
	 * instr(x, y) is strpos(x, y) for text: 1-based character position of
	 * the first occurrence, 0 if none, 1 for an empty y.
	 */
	if (strcmp(n->s, "instr") == 0)
	{
		ARGS(2, 2);
		if (!TEXTY(t[0]) || !TEXTY(t[1]))
			return dfail(d, pstrdup("calls \"instr\" on values that are not text"));
		appendStringInfo(buf, "pg_catalog.strpos(%s, %s)", a[0].data, a[1].data);
		*tc = TC_INT;
		return true;
	}
	/*
	 * substr(x, start[, len]), substring(): the same for text when start is
	 * a positive literal and len a non-negative literal (SQLite gives
	 * meaning to zero and negative values that PostgreSQL does not).
	 */
	if (strcmp(n->s, "substr") == 0 || strcmp(n->s, "substring") == 0)
	{
		SNode	   *s1,
				   *s2;

		ARGS(2, 3);
		s1 = lsecond(n->args);
		s2 = (nargs == 3) ? lthird(n->args) : NULL;
		if (!TEXTY(t[0]))
			return dfail(d, pstrdup("calls \"substr\" on a value that is not text"));
		if (s1->k != N_INT || strtoll(s1->s, NULL, 10) < 1 ||
			(s2 != NULL && s2->k != N_INT))
			return dfail(d, pstrdup("calls \"substr\" with a start that is not a positive integer literal or a length that is not a non-negative integer literal"));
		if (nargs == 3)
			appendStringInfo(buf, "pg_catalog.substr(%s, %s, %s)", a[0].data,
							 a[1].data, a[2].data);
		else
			appendStringInfo(buf, "pg_catalog.substr(%s, %s)", a[0].data, a[1].data);
		*tc = TC_TEXT;
		return true;
	}
	/*
	 * trim/ltrim/rtrim(x[, chars]): remove spaces (or any of chars) from
	 * both/left/right ends of text, in both; SQLite's trim is btrim.
	 */
	if (strcmp(n->s, "trim") == 0 || strcmp(n->s, "ltrim") == 0 ||
		strcmp(n->s, "rtrim") == 0)
	{
		ARGS(1, 2);
		if (!TEXTY(t[0]) || (nargs == 2 && !TEXTY(t[1])))
			return dfail(d, psprintf("calls \"%s\" on a value that is not text", n->s));
		appendStringInfo(buf, "pg_catalog.%s(%s%s%s)",
						 strcmp(n->s, "trim") == 0 ? "btrim" : n->s, a[0].data,
						 nargs == 2 ? ", " : "", nargs == 2 ? a[1].data : "");
		*tc = TC_TEXT;
		return true;
	}
	/*
	 * replace(x, from, to): every occurrence, left to right, in both; an
	 * empty 'from' leaves x unchanged in both.
	 */
	if (strcmp(n->s, "replace") == 0)
	{
		ARGS(3, 3);
		if (!TEXTY(t[0]) || !TEXTY(t[1]) || !TEXTY(t[2]))
			return dfail(d, pstrdup("calls \"replace\" on values that are not text"));
		appendStringInfo(buf, "pg_catalog.replace(%s, %s, %s)", a[0].data,
						 a[1].data, a[2].data);
		*tc = TC_TEXT;
		return true;
	}
#undef ARGS
#undef TEXTY

	return dfail(d, psprintf("calls function \"%s\", which is not on the allow-list", n->s));
}

/*
 * CAST(x AS type), by the affinity SQLite derives from the type name.
 * Accepted only where the conversion is the identity or exact in both:
 * integers to INTEGER, TEXT or REAL; text to TEXT; reals to REAL.  SQLite's
 * lenient text-to-number conversion ('12abc' is 12) and its real-to-text
 * format ('1.0') have no equivalent.
 */
static bool
dp_cast(Deparse *d, SNode *n, StringInfo buf, TypeClass *tc)
{
	StringInfoData sa;
	TypeClass	ta;
	const char *pgtype = NULL;

	initStringInfo(&sa);
	if (!dp_expr(d, n->a, &sa, &ta))
		return false;
	if (strcmp(n->s, "INTEGER") == 0 && (ta == TC_INT || ta == TC_NULL))
	{
		pgtype = "int8";
		*tc = TC_INT;
	}
	else if (strcmp(n->s, "TEXT") == 0 &&
			 (ta == TC_INT || ta == TC_TEXT || ta == TC_NULL))
	{
		pgtype = "text";
		*tc = TC_TEXT;
	}
	else if (strcmp(n->s, "REAL") == 0 &&
			 (ta == TC_INT || ta == TC_FLOAT || ta == TC_NULL))
	{
		pgtype = "float8";
		*tc = TC_FLOAT;
	}
	if (pgtype == NULL)
		return dfail(d, psprintf("casts to %s a value whose conversion differs in PostgreSQL (or whose type is not known)",
								 n->s));
	appendStringInfo(buf, "CAST(%s AS pg_catalog.%s)", sa.data, pgtype);
	return true;
}

static bool
dp_case(Deparse *d, SNode *n, StringInfo buf, TypeClass *tc)
{
	ListCell   *lc;
	TypeClass	res = TC_NULL;
	bool		when = true;

	appendStringInfoString(buf, "CASE");
	if (n->a != NULL)
	{
		TypeClass	ta;

		appendStringInfoChar(buf, ' ');
		if (!dp_expr(d, n->a, buf, &ta))
			return false;
	}
	foreach(lc, n->args)
	{
		TypeClass	ta;

		appendStringInfoString(buf, when ? " WHEN " : " THEN ");
		if (!dp_expr(d, lfirst(lc), buf, &ta))
			return false;
		if (!when)
			res = (res == TC_NULL || res == ta) ? ta : (ta == TC_NULL ? res : TC_UNKNOWN);
		when = !when;
	}
	if (n->c != NULL)
	{
		TypeClass	ta;

		appendStringInfoString(buf, " ELSE ");
		if (!dp_expr(d, n->c, buf, &ta))
			return false;
		res = (res == TC_NULL || res == ta) ? ta : (ta == TC_NULL ? res : TC_UNKNOWN);
	}
	appendStringInfoString(buf, " END");
	*tc = res;
	return true;
}

/*
 * Deparse one node into PostgreSQL text, fully parenthesized, setting its
 * type class.  Returns false with d->reason set when it is refused.
 */
static bool
dp_expr(Deparse *d, SNode *n, StringInfo buf, TypeClass *tc)
{
	StringInfoData sa,
				sb,
				sc;
	TypeClass	ta,
				tb,
				tc2;

	CHECK_FOR_INTERRUPTS();
	*tc = TC_UNKNOWN;
	switch (n->k)
	{
		case N_INT:
			appendStringInfoString(buf, n->s);
			*tc = TC_INT;
			return true;
		case N_REAL:
			appendStringInfoString(buf, n->s);
			*tc = TC_FLOAT;
			return true;
		case N_STR:
			append_literal(buf, n->s);
			*tc = TC_TEXT;
			return true;
		case N_BLOB:
			{
				char	   *hex = psprintf("\\x%s", n->s);

				append_literal(buf, hex);
				appendStringInfoString(buf, "::pg_catalog.bytea");
				*tc = TC_BLOB;
				return true;
			}
		case N_NULL:
			appendStringInfoString(buf, "NULL");
			*tc = TC_NULL;
			return true;
		case N_BOOL:
			append_bool(buf, n, false);
			*tc = TC_INT;
			return true;
		case N_COL:
			return dp_column(d, n, buf, tc);
		case N_STAR:
			return dfail(d, pstrdup("uses \"*\" inside an expression"));
		case N_NOW:
			if (d->kind == SQLITE_EXPR_DEFAULT && !d->view)
				return dfail(d, pstrdup("uses the current time inside a larger expression"));
			return dfail(d, pstrdup("uses the current time, which is not deterministic"));
		case N_UNARY:
			initStringInfo(&sa);
			if (strcmp(n->s, "+") == 0)
			{
				/* SQLite's unary + is a no-op on any value */
				return dp_expr(d, n->a, buf, tc);
			}
			if (!dp_expr(d, n->a, &sa, &ta))
				return false;
			if (strcmp(n->s, "NOT") == 0)
			{
				appendStringInfo(buf, "(NOT %s)", sa.data);
				*tc = TC_BOOL;
				return true;
			}
			if (!TC_IS_NUMBER(ta) && ta != TC_UNKNOWN && ta != TC_NULL)
				return dfail(d, pstrdup("negates a value that is not a number"));
			if (n->a->k == N_INT || n->a->k == N_REAL)
				appendStringInfo(buf, "-%s", sa.data);
			else
				appendStringInfo(buf, "(- %s)", sa.data);
			*tc = ta;
			return true;
		case N_BINOP:
			return dp_binop(d, n, buf, tc);
		case N_NULLTEST:
			initStringInfo(&sa);
			if (!dp_expr(d, n->a, &sa, &ta))
				return false;
			appendStringInfo(buf, "(%s IS %sNULL)", sa.data, n->neg ? "NOT " : "");
			*tc = TC_BOOL;
			return true;
		case N_IS:
			/* SQLite's IS / IS NOT: NULL-safe equality */
			initStringInfo(&sa);
			initStringInfo(&sb);
			if (!dp_pair(d, n->a, n->b, &sa, &sb, &ta, &tb))
				return false;
			appendStringInfo(buf, "(%s IS %sDISTINCT FROM %s)", sa.data,
							 n->neg ? "" : "NOT ", sb.data);
			*tc = TC_BOOL;
			return true;
		case N_ISBOOL:
			/* SQLite: x IS TRUE when x is not NULL and nonzero */
			initStringInfo(&sa);
			if (!dp_expr(d, n->a, &sa, &ta))
				return false;
			if (ta == TC_BOOL)
				appendStringInfo(buf, "(%s IS %s%s)", sa.data,
								 n->neg ? "NOT " : "", n->s);
			else if (TC_IS_NUMBER(ta))
				appendStringInfo(buf, "((%s %s 0) IS %sTRUE)", sa.data,
								 strcmp(n->s, "true") == 0 ? "<>" : "=",
								 n->neg ? "NOT " : "");
			else
				return dfail(d, pstrdup("uses IS TRUE or IS FALSE on a value that is not known to be a number or a boolean"));
			*tc = TC_BOOL;
			return true;
		case N_BETWEEN:
			initStringInfo(&sa);
			initStringInfo(&sb);
			initStringInfo(&sc);
			if (!dp_ordered(d, n->a, &sa, &ta) || !dp_ordered(d, n->b, &sb, &tb) ||
				!dp_ordered(d, n->c, &sc, &tc2))
				return false;
			if (!ordering_ok(d, ta, tb) || !ordering_ok(d, ta, tc2))
				return false;
			appendStringInfo(buf, "(%s %sBETWEEN %s AND %s)", sa.data,
							 n->neg ? "NOT " : "", sb.data, sc.data);
			*tc = TC_BOOL;
			return true;
		case N_IN:
			{
				ListCell   *lc;
				bool		first = true;

				initStringInfo(&sa);
				if (!dp_expr(d, n->a, &sa, &ta))
					return false;
				appendStringInfo(buf, "(%s %sIN (", sa.data, n->neg ? "NOT " : "");
				foreach(lc, n->args)
				{
					SNode	   *e = lfirst(lc);

					if (!first)
						appendStringInfoString(buf, ", ");
					first = false;
					if (e->k == N_BOOL)
						append_bool(buf, e, ta == TC_BOOL);
					else if (!dp_expr(d, e, buf, &tb))
						return false;
				}
				appendStringInfoString(buf, "))");
				*tc = TC_BOOL;
				return true;
			}
		case N_LIKE:
			*tc = TC_BOOL;
			return dp_like(d, n, buf);
		case N_GLOB:
			*tc = TC_BOOL;
			return dp_glob(d, n, buf);
		case N_CASE:
			return dp_case(d, n, buf, tc);
		case N_CAST:
			return dp_cast(d, n, buf, tc);
		case N_FUNC:
			return dp_func(d, n, buf, tc);
	}
	return dfail(d, pstrdup("uses an unsupported construct"));
}

/* ---------------------------------------------------------------------
 * DEFAULT: literals by target type, and the current time
 * ---------------------------------------------------------------------
 */

/* Does s match an ISO date [time] SQLite's date functions read as UTC? */
static bool
is_iso_datetime(const char *s, bool want_date, bool want_time)
{
	int			i = 0;

	if (want_date)
	{
		if (!(isdigit((unsigned char) s[0]) && isdigit((unsigned char) s[1]) &&
			  isdigit((unsigned char) s[2]) && isdigit((unsigned char) s[3]) &&
			  s[4] == '-' && isdigit((unsigned char) s[5]) &&
			  isdigit((unsigned char) s[6]) && s[7] == '-' &&
			  isdigit((unsigned char) s[8]) && isdigit((unsigned char) s[9])))
			return false;
		i = 10;
		if (s[i] == '\0')
			return true;
		if (!want_time || (s[i] != ' ' && s[i] != 'T'))
			return false;
		i++;
	}
	if (!(isdigit((unsigned char) s[i]) && isdigit((unsigned char) s[i + 1]) &&
		  s[i + 2] == ':' && isdigit((unsigned char) s[i + 3]) &&
		  isdigit((unsigned char) s[i + 4])))
		return false;
	i += 5;
	if (s[i] == ':')
	{
		if (!(isdigit((unsigned char) s[i + 1]) && isdigit((unsigned char) s[i + 2])))
			return false;
		i += 3;
		if (s[i] == '.')
		{
			i++;
			if (!isdigit((unsigned char) s[i]))
				return false;
			while (isdigit((unsigned char) s[i]))
				i++;
		}
	}
	return s[i] == '\0';
}

/*
 * DEFAULT CURRENT_TIMESTAMP and friends.  SQLite stores UTC text
 * 'YYYY-MM-DD HH:MM:SS', 'YYYY-MM-DD', 'HH:MM:SS' (or Unix seconds for
 * strftime('%s','now')); PostgreSQL gets the same instant in the column's
 * type, independent of the session's TimeZone.
 */
static bool
dp_default_now(Deparse *d, const char *what, Oid target, StringInfo buf)
{
	TypeClass	tc = class_of_type(target);
	Oid			base = OidIsValid(target) ? getBaseType(target) : InvalidOid;
	const char *utc = "(CURRENT_TIMESTAMP AT TIME ZONE 'UTC')";

	if (strcmp(what, "epoch") == 0)
	{
		const char *e = "pg_catalog.floor(EXTRACT(epoch FROM CURRENT_TIMESTAMP))";

		if (tc == TC_INT || tc == TC_NUMERIC || tc == TC_FLOAT)
			appendStringInfo(buf, "CAST(%s AS pg_catalog.int8)", e);
		else if (tc == TC_TEXT || tc == TC_UNKNOWN)
			appendStringInfo(buf, "CAST(CAST(%s AS pg_catalog.int8) AS pg_catalog.text)", e);
		else
			return dfail(d, pstrdup("defaults to Unix seconds in a column that is not a number or text"));
		return true;
	}
	if (tc == TC_TEXT || tc == TC_UNKNOWN)
	{
		appendStringInfo(buf, "pg_catalog.to_char(%s, ", utc);
		append_literal(buf, strcmp(what, "timestamp") == 0 ? "YYYY-MM-DD HH24:MI:SS" :
					   strcmp(what, "date") == 0 ? "YYYY-MM-DD" : "HH24:MI:SS");
		appendStringInfoChar(buf, ')');
		return true;
	}
	if (strcmp(what, "timestamp") == 0 && base == TIMESTAMPOID)
		appendStringInfoString(buf, utc);
	else if (strcmp(what, "timestamp") == 0 && base == TIMESTAMPTZOID)
		appendStringInfoString(buf, "CURRENT_TIMESTAMP");
	else if (strcmp(what, "date") == 0 && base == DATEOID)
		appendStringInfo(buf, "CAST(%s AS pg_catalog.date)", utc);
	else if (strcmp(what, "time") == 0 && base == TIMEOID)
		appendStringInfo(buf, "CAST(%s AS pg_catalog.\"time\"(0))", utc);
	else
		return dfail(d, psprintf("defaults to the current %s in a column of type %s",
								 what, format_type_be(target)));
	return true;
}

/*
 * A DEFAULT that is one literal (possibly signed).  PostgreSQL casts it to
 * the column type itself; refused where that cast would store something
 * other than what SQLite stores for the same default.
 */
static bool
dp_default_literal(Deparse *d, SNode *n, Oid target, StringInfo buf)
{
	TypeClass	tc = class_of_type(target);
	Oid			base = OidIsValid(target) ? getBaseType(target) : InvalidOid;
	SNode	   *lit = n;
	bool		negative = false;
	TypeClass	dummy;

	while (lit->k == N_UNARY && lit->s[0] != 'N')
	{
		if (strcmp(lit->s, "-") == 0)
			negative = !negative;
		lit = lit->a;
	}
	if (lit != n && lit->k != N_INT && lit->k != N_REAL)
		return dp_expr(d, n, buf, &dummy);

	if (tc == TC_BOOL)
	{
		/* SQLite stores 0/1 (TRUE/FALSE are 1/0), which became false/true */
		if (lit->k == N_BOOL)
			append_bool(buf, lit, true);
		else if ((lit->k == N_INT || lit->k == N_STR) && !negative &&
				 (strcmp(lit->s, "0") == 0 || strcmp(lit->s, "1") == 0))
			appendStringInfoString(buf, strcmp(lit->s, "1") == 0 ? "true" : "false");
		else if (lit->k == N_NULL)
			appendStringInfoString(buf, "NULL");
		else
			return dfail(d, pstrdup("has a default that is not 0, 1, TRUE or FALSE for a boolean column"));
		return true;
	}
	if (lit->k == N_BOOL)
	{
		append_bool(buf, lit, false);
		return true;
	}
	if (lit->k == N_REAL && (tc == TC_INT || tc == TC_TEXT))
	{
		double		v = strtod(lit->s, NULL);

		/* SQLite keeps 1.5 as a real in an INTEGER column: no rounding */
		if (tc == TC_TEXT || v != floor(v) || fabs(v) > 9.0e15)
			return dfail(d, psprintf("has a real default that the column's type %s would change",
									 format_type_be(target)));
	}
	if (lit->k == N_STR && OidIsValid(base))
	{
		const char *s = lit->s;

		if (base == DATEOID && !is_iso_datetime(s, true, false))
			return dfail(d, pstrdup("has a date default that is not in ISO format"));
		if (base == TIMEOID && !is_iso_datetime(s, false, true))
			return dfail(d, pstrdup("has a time default that is not in ISO format"));
		if ((base == TIMESTAMPOID || base == TIMESTAMPTZOID) &&
			!is_iso_datetime(s, true, true))
			return dfail(d, pstrdup("has a timestamp default that is not in ISO format without time zone"));
		if (base == TIMESTAMPTZOID)
		{
			/* naive text means UTC, as SQLite's date functions read it */
			append_literal(buf, psprintf("%s+00", s));
			return true;
		}
		if (base == BYTEAOID && strchr(s, '\\') != NULL)
			return dfail(d, pstrdup("has a text default with a backslash for a blob column"));
	}
	if (lit->k == N_BLOB && OidIsValid(base) && base != BYTEAOID)
		return dfail(d, psprintf("has a blob default for a column of type %s",
								 format_type_be(target)));
	return dp_expr(d, n, buf, &dummy);
}

/* ---------------------------------------------------------------------
 * Safety net: PostgreSQL's raw parser and an allow-list of node types
 * ---------------------------------------------------------------------
 */

typedef struct Check
{
	bool		view;
	List	   *colmap;			/* expression mode: allowed column names */
	List	   *aliases;		/* view mode: allowed relation aliases */
	List	   *tablemap;		/* view mode: allowed relations */
	bool		allow_now;
	List	   *outnames;		/* view mode: output column names */
} Check;

static const char *const safe_functions[] = {
	"abs", "length", "lower", "upper", "strpos", "substr", "btrim", "ltrim",
	"rtrim", "replace", "to_char", "floor", "extract", "timezone",
	"like_escape", "count", "sum", "min", "max", NULL
};

static bool check_node(Check *c, Node *node);

static bool
check_list(Check *c, List *l)
{
	ListCell   *lc;

	foreach(lc, l)
		if (!check_node(c, lfirst(lc)))
			return false;
	return true;
}

static bool
is_pg_catalog_name(List *names, const char *const *allowed)
{
	const char *last;
	int			i;

	if (list_length(names) != 2 ||
		strcmp(strVal(linitial(names)), "pg_catalog") != 0)
		return false;
	last = strVal(lsecond(names));
	for (i = 0; allowed[i]; i++)
		if (strcmp(last, allowed[i]) == 0)
			return true;
	return false;
}

static bool
name_in_list(List *l, const char *s)
{
	ListCell   *lc;

	foreach(lc, l)
		if (strcmp((char *) lfirst(lc), s) == 0)
			return true;
	return false;
}

/*
 * Check one raw parse tree node, and recursively its children, against
 * the allow-list.  Any node type not named here is refused.
 */
static bool
check_node(Check *c, Node *node)
{
	static const char *const ops[] = {
		"=", "<>", "<", "<=", ">", ">=", "+", "-", "*", "/", "%", "||",
		"~~", "!~~", NULL
	};
	static const char *const types[] = {
		"int8", "float8", "text", "bytea", "date", "time", NULL
	};

	if (node == NULL)
		return true;
	check_stack_depth();
	switch (nodeTag(node))
	{
		case T_A_Const:
			return true;
		case T_ColumnRef:
			{
				ColumnRef  *cr = (ColumnRef *) node;
				ListCell   *lc;

				foreach(lc, cr->fields)
					if (!IsA(lfirst(lc), String))
						return false;
				if (!c->view)
				{
					SqliteNameMap *m;

					if (list_length(cr->fields) != 1)
						return false;
					foreach(lc, c->colmap)
					{
						m = lfirst(lc);
						if (strcmp(m->pg_name, strVal(linitial(cr->fields))) == 0)
							return true;
					}
					return false;
				}
				if (list_length(cr->fields) == 1)
					return name_in_list(c->outnames, strVal(linitial(cr->fields)));
				return list_length(cr->fields) == 2 &&
					name_in_list(c->aliases, strVal(linitial(cr->fields)));
			}
		case T_A_Expr:
			{
				A_Expr	   *e = (A_Expr *) node;

				switch (e->kind)
				{
					case AEXPR_OP:
					case AEXPR_LIKE:
					case AEXPR_IN:
						if (list_length(e->name) != 1)
							return false;
						{
							const char *op = strVal(linitial(e->name));
							int			i;

							for (i = 0; ops[i]; i++)
								if (strcmp(op, ops[i]) == 0)
									break;
							if (ops[i] == NULL)
								return false;
						}
						break;
					case AEXPR_DISTINCT:
					case AEXPR_NOT_DISTINCT:
					case AEXPR_NULLIF:
					case AEXPR_BETWEEN:
					case AEXPR_NOT_BETWEEN:
						break;
					default:
						return false;
				}
				return check_node(c, e->lexpr) && check_node(c, e->rexpr);
			}
		case T_List:
			return check_list(c, (List *) node);
		case T_BoolExpr:
			return check_list(c, ((BoolExpr *) node)->args);
		case T_NullTest:
			return check_node(c, (Node *) ((NullTest *) node)->arg);
		case T_BooleanTest:
			return check_node(c, (Node *) ((BooleanTest *) node)->arg);
		case T_TypeCast:
			{
				TypeCast   *tc = (TypeCast *) node;

				if (tc->typeName == NULL || tc->typeName->setof ||
					tc->typeName->arrayBounds != NIL ||
					!is_pg_catalog_name(tc->typeName->names, types))
					return false;
				return check_list(c, tc->typeName->typmods) &&
					check_node(c, tc->arg);
			}
		case T_CollateClause:
			{
				CollateClause *cc = (CollateClause *) node;

				if (list_length(cc->collname) != 2 ||
					strcmp(strVal(linitial(cc->collname)), "pg_catalog") != 0 ||
					strcmp(strVal(lsecond(cc->collname)), "C") != 0)
					return false;
				return check_node(c, cc->arg);
			}
		case T_FuncCall:
			{
				FuncCall   *fc = (FuncCall *) node;

				if (!is_pg_catalog_name(fc->funcname, safe_functions) ||
					fc->agg_order != NIL || fc->agg_filter != NULL ||
					fc->over != NULL || fc->agg_within_group ||
					fc->func_variadic)
					return false;
				if (!c->view && (fc->agg_star || fc->agg_distinct ||
								 strcmp(strVal(lsecond(fc->funcname)), "count") == 0 ||
								 strcmp(strVal(lsecond(fc->funcname)), "sum") == 0 ||
								 strcmp(strVal(lsecond(fc->funcname)), "min") == 0 ||
								 strcmp(strVal(lsecond(fc->funcname)), "max") == 0))
					return false;
				return check_list(c, fc->args);
			}
		case T_CaseExpr:
			{
				CaseExpr   *ce = (CaseExpr *) node;

				return check_node(c, (Node *) ce->arg) &&
					check_list(c, ce->args) &&
					check_node(c, (Node *) ce->defresult);
			}
		case T_CaseWhen:
			return check_node(c, (Node *) ((CaseWhen *) node)->expr) &&
				check_node(c, (Node *) ((CaseWhen *) node)->result);
		case T_CoalesceExpr:
			return check_list(c, ((CoalesceExpr *) node)->args);
		case T_SQLValueFunction:
			return c->allow_now &&
				((SQLValueFunction *) node)->op == SVFOP_CURRENT_TIMESTAMP;
		case T_ResTarget:
			return ((ResTarget *) node)->indirection == NIL &&
				check_node(c, ((ResTarget *) node)->val);
		case T_A_Star:
			return c->view;
		case T_SortBy:
			{
				SortBy	   *sb = (SortBy *) node;

				return sb->useOp == NIL && check_node(c, sb->node);
			}
		case T_RangeVar:
			{
				RangeVar   *rv = (RangeVar *) node;
				ListCell   *lc;

				if (!c->view || rv->catalogname != NULL || rv->schemaname == NULL ||
					!rv->inh || rv->alias == NULL || rv->alias->colnames != NIL)
					return false;
				foreach(lc, c->tablemap)
				{
					SqliteTableMap *tm = lfirst(lc);

					if (strcmp(tm->pg_schema, rv->schemaname) == 0 &&
						strcmp(tm->pg_name, rv->relname) == 0)
						return name_in_list(c->aliases, rv->alias->aliasname);
				}
				return false;
			}
		case T_JoinExpr:
			{
				JoinExpr   *j = (JoinExpr *) node;
				ListCell   *lc;

				if (!c->view || j->isNatural || j->alias != NULL ||
					j->join_using_alias != NULL ||
					(j->jointype != JOIN_INNER && j->jointype != JOIN_LEFT))
					return false;
				foreach(lc, j->usingClause)
					if (!IsA(lfirst(lc), String))
						return false;
				return check_node(c, j->larg) && check_node(c, j->rarg) &&
					check_node(c, j->quals);
			}
		default:
			return false;
	}
}

/*
 * Parse 'sql' with PostgreSQL's raw parser; returns the single SelectStmt,
 * or NULL if it does not parse or is anything else.  A parse error is
 * caught and discarded: it can only be a fault of ours, as the text is our
 * own output, and the caller then refuses the translation.
 */
static SelectStmt *
raw_parse_select(const char *sql)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	List	   *volatile stmts = NIL;

	PG_TRY();
	{
		stmts = raw_parser(sql, RAW_PARSE_DEFAULT);
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(oldcxt);
		FlushErrorState();
		stmts = NIL;
	}
	PG_END_TRY();

	if (list_length(stmts) != 1 ||
		!IsA(((RawStmt *) linitial(stmts))->stmt, SelectStmt))
		return NULL;
	return (SelectStmt *) ((RawStmt *) linitial(stmts))->stmt;
}

/* Is this SELECT free of everything but a target list? */
static bool
select_is_bare(SelectStmt *s)
{
	return s->distinctClause == NIL && s->intoClause == NULL &&
		s->fromClause == NIL && s->whereClause == NULL &&
		s->groupClause == NIL && !s->groupDistinct &&
		s->havingClause == NULL && s->windowClause == NIL &&
		s->valuesLists == NIL && s->sortClause == NIL &&
		s->limitOffset == NULL && s->limitCount == NULL &&
		s->lockingClause == NIL && s->withClause == NULL &&
		s->op == SETOP_NONE;
}

/*
 * Final check of a translated expression: PostgreSQL must see exactly one
 * expression made only of allowed nodes.
 */
static bool
verify_expr_text(const char *text, List *colmap, bool allow_now)
{
	SelectStmt *s = raw_parse_select(psprintf("SELECT %s", text));
	Check		c;

	if (s == NULL || !select_is_bare(s) || list_length(s->targetList) != 1 ||
		((ResTarget *) linitial(s->targetList))->name != NULL)
		return false;
	memset(&c, 0, sizeof(c));
	c.colmap = colmap;
	c.allow_now = allow_now;
	return check_node(&c, linitial(s->targetList));
}

/* ---------------------------------------------------------------------
 * sqlite_translate_expr
 * ---------------------------------------------------------------------
 */

/*
 * Common input checks: length, encoding; then tokenize.  Returns false
 * with *reason set.
 */
static bool
prepare_input(const char *text, TokList *tl, char **reason)
{
	int			len;

	if (text == NULL)
	{
		*reason = pstrdup("is missing");
		return false;
	}
	len = strlen(text);
	if (len > MAX_INPUT_LEN)
	{
		*reason = psprintf("is longer than %d bytes", MAX_INPUT_LEN);
		return false;
	}
	if (!pg_verifymbstr(text, len, true))
	{
		*reason = pstrdup("is not valid in the database encoding");
		return false;
	}
	return sqlite_tokenize(text, len, tl, reason);
}

/*
 * sqlite_translate_expr
 *		Translate one SQLite expression taken from the file.
 *
 * 'expr' is the expression text (without DEFAULT/CHECK keywords, outer
 * parentheses allowed); 'kind' says where it is used; 'target_type' is the
 * column's PostgreSQL type for a DEFAULT (InvalidOid: not known, the
 * SQLite text forms are used); 'colmap' (List of SqliteNameMap *) names
 * the columns it may use, matched case-insensitively.
 *
 * Returns palloc'd PostgreSQL text to embed as DEFAULT <text>,
 * CHECK (<text>), GENERATED ALWAYS AS (<text>) STORED, an index element
 * (<text>) or WHERE <text>, or NULL with *reason set to a short sentence
 * fragment ("calls function \"random\", which is not on the allow-list").
 * Never raises an ERROR for bad input.  Functions, types and collations in
 * the result are qualified with pg_catalog; operators are not, and resolve
 * to pg_catalog's unless a schema ahead of it on search_path defines the
 * same operator for the same types.
 */
char *
sqlite_translate_expr(const char *expr, SqliteExprKind kind, Oid target_type,
					  List *colmap, char **reason)
{
	TokList		tl;
	Parser		p;
	Deparse		d;
	SNode	   *root;
	StringInfoData buf;
	TypeClass	tc;
	bool		ok;

	*reason = NULL;
	if (!prepare_input(expr, &tl, reason))
		return NULL;

	memset(&p, 0, sizeof(p));
	p.src = expr;
	p.toks = tl.toks;
	if (tl.ntok == 1)
	{
		*reason = pstrdup("is empty");
		return NULL;
	}
	root = parse_expr(&p);
	if (root != NULL && tree_depth(root) > MAX_TREE_DEPTH)
	{
		*reason = pstrdup("is nested too deeply");
		return NULL;
	}
	if (root != NULL && cur(&p)->type != TK_EOF)
	{
		fail_syntax(&p);
		root = NULL;
	}
	if (root == NULL)
	{
		*reason = p.reason ? p.reason : pstrdup("cannot be parsed");
		return NULL;
	}

	memset(&d, 0, sizeof(d));
	d.kind = kind;
	d.colmap = colmap;
	initStringInfo(&buf);

	if (kind == SQLITE_EXPR_DEFAULT && root->k == N_NOW)
		ok = dp_default_now(&d, root->s, target_type, &buf);
	else if (kind == SQLITE_EXPR_DEFAULT)
		ok = dp_default_literal(&d, root, target_type, &buf);
	else
	{
		StringInfoData sub;

		initStringInfo(&sub);
		ok = dp_expr(&d, root, &sub, &tc);
		if (ok && (kind == SQLITE_EXPR_CHECK || kind == SQLITE_EXPR_WHERE))
		{
			/*
			 * SQLite takes a number as a truth value (nonzero is true);
			 * PostgreSQL wants a boolean.
			 */
			if (TC_IS_NUMBER(tc))
				appendStringInfo(&buf, "(%s <> 0)", sub.data);
			else if (tc == TC_TEXT || tc == TC_BLOB || tc == TC_OTHER)
				ok = dfail(&d, pstrdup("is not a truth value"));
			else
				appendStringInfoString(&buf, sub.data);
		}
		else
			appendStringInfoString(&buf, sub.data);
	}
	if (!ok)
	{
		*reason = d.reason ? d.reason : pstrdup("cannot be translated");
		return NULL;
	}
	if (!verify_expr_text(buf.data, colmap, kind == SQLITE_EXPR_DEFAULT))
	{
		*reason = pstrdup("was translated into text that did not pass the final check");
		return NULL;
	}
	return buf.data;
}

/* ---------------------------------------------------------------------
 * sqlite_translate_view
 * ---------------------------------------------------------------------
 */

static char *
ascii_lower(const char *s)
{
	char	   *r = pstrdup(s);
	char	   *c;

	for (c = r; *c; c++)
		*c = pg_ascii_tolower((unsigned char) *c);
	return r;
}

static SqliteTableMap *
find_table(List *tablemap, const char *name)
{
	ListCell   *lc;

	foreach(lc, tablemap)
	{
		SqliteTableMap *t = lfirst(lc);

		if (pg_strcasecmp(t->sqlite_name, name) == 0)
			return t;
	}
	return NULL;
}

static bool
is_name_token(Token *t)
{
	return (t->type == TK_WORD && !is_reserved(t->val)) ||
		t->type == TK_QIDENT || t->type == TK_DQIDENT ||
		t->type == TK_STRING;
}

/* A parsed result column. */
typedef struct ResultCol
{
	SNode	   *expr;			/* N_STAR for * and t.* */
	char	   *alias;			/* SQLite alias, or NULL */
} ResultCol;

/* A parsed FROM item with its join to the items before it. */
typedef struct FromParse
{
	char	   *table;
	char	   *alias;
	bool		left;			/* LEFT JOIN (else INNER or CROSS) */
	SNode	   *on;
	List	   *using;			/* of char * */
	bool		first;
} FromParse;

static FromParse *
parse_from_item(Parser *p)
{
	FromParse  *f = palloc0(sizeof(FromParse));
	Token	   *t = cur(p);

	if (is_op(p, "("))
		return fail(p, pstrdup("uses a subquery or parenthesized join in FROM"));
	if (!is_name_token(t) || t->type == TK_STRING)
		return fail_syntax(p);
	p->pos++;
	f->table = t->val;
	if (accept_op(p, "."))
	{
		if (pg_strcasecmp(f->table, "main") != 0)
			return fail(p, psprintf("uses a table of schema \"%s\"", f->table));
		t = cur(p);
		if (!is_name_token(t) || t->type == TK_STRING)
			return fail_syntax(p);
		p->pos++;
		f->table = t->val;
	}
	if (is_op(p, "("))
		return fail(p, psprintf("uses table-valued function \"%s\"", f->table));
	if (accept_kw(p, "AS"))
	{
		t = cur(p);
		if (!is_name_token(t))
			return fail_syntax(p);
		p->pos++;
		f->alias = t->val;
	}
	else if (is_name_token(cur(p)) && cur(p)->type != TK_STRING &&
			 !is_kw(p, "INDEXED"))
	{
		f->alias = cur(p)->val;
		p->pos++;
	}
	if (is_kw(p, "INDEXED") || is_kw(p, "NOT"))
		return fail(p, pstrdup("uses INDEXED BY"));
	return f;
}

/*
 * Parse SQLite's CREATE VIEW text into its parts.  Fills the out lists;
 * returns false with p->reason set.
 */
static bool
parse_view(Parser *p, List **viewcols, bool *distinct, List **results,
		   List **from, SNode **where, List **groupby, SNode **having,
		   List **orderby, SNode **limit, SNode **offset)
{
	if (!expect_kw(p, "CREATE"))
		return false;
	if (!accept_kw(p, "TEMP"))
		accept_kw(p, "TEMPORARY");
	if (!expect_kw(p, "VIEW"))
		return false;
	if (accept_kw(p, "IF"))
	{
		if (!expect_kw(p, "NOT") || !expect_kw(p, "EXISTS"))
			return false;
	}
	if (!is_name_token(cur(p)))
		return fail_syntax(p) != NULL;
	p->pos++;
	if (accept_op(p, "."))
	{
		if (!is_name_token(cur(p)))
			return fail_syntax(p) != NULL;
		p->pos++;
	}
	if (accept_op(p, "("))
	{
		for (;;)
		{
			if (!is_name_token(cur(p)))
				return fail_syntax(p) != NULL;
			*viewcols = lappend(*viewcols, cur(p)->val);
			p->pos++;
			if (!accept_op(p, ","))
				break;
		}
		if (!expect_op(p, ")"))
			return false;
	}
	if (!expect_kw(p, "AS"))
		return false;
	if (is_kw(p, "WITH"))
		return fail(p, pstrdup("uses a common table expression")) != NULL;
	if (is_kw(p, "VALUES"))
		return fail(p, pstrdup("uses VALUES")) != NULL;
	if (!expect_kw(p, "SELECT"))
		return false;
	if (accept_kw(p, "DISTINCT"))
		*distinct = true;
	else
		accept_kw(p, "ALL");

	for (;;)
	{
		ResultCol  *rc = palloc0(sizeof(ResultCol));

		if (is_op(p, "*"))
		{
			rc->expr = mknode(p, N_STAR, cur(p)->start);
			p->pos++;
		}
		else
		{
			rc->expr = parse_expr(p);
			if (rc->expr == NULL)
				return false;
			if (accept_kw(p, "AS"))
			{
				if (!is_name_token(cur(p)))
					return fail_syntax(p) != NULL;
				rc->alias = cur(p)->val;
				p->pos++;
			}
			else if (is_name_token(cur(p)))
			{
				rc->alias = cur(p)->val;
				p->pos++;
			}
		}
		*results = lappend(*results, rc);
		if (!accept_op(p, ","))
			break;
	}

	if (accept_kw(p, "FROM"))
	{
		FromParse  *f = parse_from_item(p);

		if (f == NULL)
			return false;
		f->first = true;
		*from = lappend(*from, f);
		for (;;)
		{
			bool		left = false;

			if (accept_op(p, ","))
				;
			else if (is_kw(p, "NATURAL") || is_kw(p, "RIGHT") || is_kw(p, "FULL"))
				return fail(p, psprintf("uses a %s join", cur(p)->val)) != NULL;
			else if (accept_kw(p, "LEFT"))
			{
				accept_kw(p, "OUTER");
				left = true;
				if (!expect_kw(p, "JOIN"))
					return false;
			}
			else if (accept_kw(p, "INNER") || accept_kw(p, "CROSS"))
			{
				if (!expect_kw(p, "JOIN"))
					return false;
			}
			else if (!accept_kw(p, "JOIN"))
				break;
			f = parse_from_item(p);
			if (f == NULL)
				return false;
			f->left = left;
			if (accept_kw(p, "ON"))
			{
				f->on = parse_expr(p);
				if (f->on == NULL)
					return false;
			}
			else if (accept_kw(p, "USING"))
			{
				if (!expect_op(p, "("))
					return false;
				for (;;)
				{
					if (!is_name_token(cur(p)))
						return fail_syntax(p) != NULL;
					f->using = lappend(f->using, cur(p)->val);
					p->pos++;
					if (!accept_op(p, ","))
						break;
				}
				if (!expect_op(p, ")"))
					return false;
			}
			else if (left)
				return fail(p, pstrdup("uses a LEFT JOIN without a condition")) != NULL;
			*from = lappend(*from, f);
		}
	}
	if (accept_kw(p, "WHERE"))
	{
		*where = parse_expr(p);
		if (*where == NULL)
			return false;
	}
	if (accept_kw(p, "GROUP"))
	{
		if (!expect_kw(p, "BY"))
			return false;
		for (;;)
		{
			SNode	   *e = parse_expr(p);

			if (e == NULL)
				return false;
			*groupby = lappend(*groupby, e);
			if (!accept_op(p, ","))
				break;
		}
	}
	if (accept_kw(p, "HAVING"))
	{
		*having = parse_expr(p);
		if (*having == NULL)
			return false;
	}
	if (is_kw(p, "WINDOW"))
		return fail(p, pstrdup("uses a window")) != NULL;
	if (is_kw(p, "UNION") || is_kw(p, "INTERSECT") || is_kw(p, "EXCEPT"))
		return fail(p, psprintf("uses %s", cur(p)->val)) != NULL;
	if (accept_kw(p, "ORDER"))
	{
		if (!expect_kw(p, "BY"))
			return false;
		for (;;)
		{
			SNode	   *e = parse_expr(p);
			SNode	   *o;

			if (e == NULL)
				return false;
			/* wrap: a = expr, neg = DESC, s = NULLS FIRST/LAST or NULL */
			o = palloc0(sizeof(SNode));
			o->a = e;
			if (accept_kw(p, "DESC"))
				o->neg = true;
			else
				accept_kw(p, "ASC");
			if (accept_kw(p, "NULLS"))
			{
				if (accept_kw(p, "FIRST"))
					o->s = "FIRST";
				else if (accept_kw(p, "LAST"))
					o->s = "LAST";
				else
					return fail_syntax(p) != NULL;
			}
			*orderby = lappend(*orderby, o);
			if (!accept_op(p, ","))
				break;
		}
	}
	if (accept_kw(p, "LIMIT"))
	{
		*limit = parse_expr(p);
		if (*limit == NULL)
			return false;
		if (accept_kw(p, "OFFSET"))
			*offset = parse_expr(p);
		else if (accept_op(p, ","))
		{
			/* LIMIT offset, count */
			*offset = *limit;
			*limit = parse_expr(p);
		}
		if (*limit == NULL || (*offset == NULL && p->reason != NULL))
			return false;
	}
	accept_op(p, ";");
	if (cur(p)->type != TK_EOF)
		return fail_syntax(p) != NULL;
	return true;
}

/* Append ", " unless at the start. */
static void
sep(StringInfo buf, bool *first, const char *s)
{
	if (!*first)
		appendStringInfoString(buf, s);
	*first = false;
}

/* A non-negative integer literal for LIMIT/OFFSET, else refuse. */
static bool
dp_limit(Deparse *d, SNode *n, StringInfo buf, const char *what)
{
	if (n->k != N_INT)
		return dfail(d, psprintf("uses a %s that is not a non-negative integer literal", what));
	appendStringInfoString(buf, n->s);
	return true;
}

/*
 * sqlite_translate_view
 *		Translate the sql text of a SQLite view into a PostgreSQL SELECT.
 *
 * 'tablemap' (List of SqliteTableMap *) lists the migrated tables a view
 * may use.  Accepted: one SELECT [DISTINCT] with result columns (*, t.*,
 * expressions under the expression allow-list plus count, sum of integers,
 * min and max), FROM tables joined by comma, [INNER|CROSS|LEFT] JOIN with
 * ON or USING, WHERE, GROUP BY, HAVING, ORDER BY, LIMIT/OFFSET literals.
 * Every table is schema-qualified and aliased, every column qualified;
 * every output column gets an explicit, lower-cased name (the view's
 * column list, the alias, the column's migrated name, or SQLite's name for
 * an expression: its text); NULLs sort first ascending as in SQLite, and
 * text sorts in byte order.  Returns the palloc'd SELECT text (for CREATE
 * VIEW ... WITH (security_invoker = true) AS <text>) or NULL with *reason
 * set.  Never raises an ERROR for bad input.
 */
char *
sqlite_translate_view(const char *create_view_sql, List *tablemap, char **reason)
{
	TokList		tl;
	Parser		p;
	Deparse		d;
	List	   *viewcols = NIL,
			   *results = NIL,
			   *from = NIL,
			   *groupby = NIL,
			   *orderby = NIL;
	SNode	   *where = NULL,
			   *having = NULL,
			   *limit = NULL,
			   *offset = NULL;
	bool		distinct = false;
	StringInfoData buf;
	ListCell   *lc;
	List	   *outnames = NIL;
	List	   *restext = NIL;	/* deparsed result expressions */
	List	   *restc = NIL;	/* and their type classes */
	List	   *aliases = NIL;
	bool		first;
	int			i;
	int			ncols = 0;
	Check		c;
	SelectStmt *s;

	*reason = NULL;
	if (!prepare_input(create_view_sql, &tl, reason))
		return NULL;
	memset(&p, 0, sizeof(p));
	p.src = create_view_sql;
	p.toks = tl.toks;
	if (!parse_view(&p, &viewcols, &distinct, &results, &from, &where,
					&groupby, &having, &orderby, &limit, &offset))
	{
		*reason = p.reason ? p.reason : pstrdup("cannot be parsed");
		return NULL;
	}
	if (from == NIL)
	{
		*reason = pstrdup("has no FROM clause");
		return NULL;
	}

	/* resolve FROM items */
	memset(&d, 0, sizeof(d));
	d.view = true;
	d.kind = SQLITE_EXPR_CHECK;
	d.nitems = list_length(from);
	d.items = palloc0(sizeof(FromItem) * d.nitems);
	i = 0;
	foreach(lc, from)
	{
		FromParse  *f = lfirst(lc);
		FromItem   *fi = &d.items[i++];
		int			j;

		fi->table = find_table(tablemap, f->table);
		if (fi->table == NULL)
		{
			*reason = psprintf("uses table \"%s\", which is not migrated", f->table);
			return NULL;
		}
		fi->sqlite_alias = f->alias ? f->alias : f->table;
		fi->alias = f->alias ? ascii_lower(f->alias) : fi->table->pg_name;
		for (j = 0; j < i - 1; j++)
			if (pg_strcasecmp(d.items[j].sqlite_alias, fi->sqlite_alias) == 0 ||
				strcmp(d.items[j].alias, fi->alias) == 0)
			{
				*reason = psprintf("uses the name \"%s\" for two tables", fi->sqlite_alias);
				return NULL;
			}
		aliases = lappend(aliases, fi->alias);
	}

	initStringInfo(&buf);
	appendStringInfoString(&buf, "SELECT ");
	if (distinct)
		appendStringInfoString(&buf, "DISTINCT ");

	/* result columns, with explicit names */
	first = true;
	foreach(lc, results)
	{
		ResultCol  *rc = lfirst(lc);
		char	   *name;

		if (rc->expr->k == N_STAR)
		{
			for (i = 0; i < d.nitems; i++)
			{
				ListCell   *lc2;

				if (rc->expr->s2 != NULL &&
					pg_strcasecmp(d.items[i].sqlite_alias, rc->expr->s2) != 0)
					continue;
				foreach(lc2, d.items[i].table->colmap)
				{
					SqliteNameMap *m = lfirst(lc2);

					sep(&buf, &first, ", ");
					name = m->pg_name;
					if (viewcols != NIL)
						name = (ncols < list_length(viewcols)) ?
							ascii_lower(list_nth(viewcols, ncols)) : NULL;
					if (name == NULL)
					{
						*reason = pstrdup("has more result columns than view column names");
						return NULL;
					}
					appendStringInfo(&buf, "%s.%s AS %s",
									 quote_identifier(d.items[i].alias),
									 quote_identifier(m->pg_name),
									 quote_identifier(name));
					outnames = lappend(outnames, name);
					restext = lappend(restext, psprintf("%s.%s",
														quote_identifier(d.items[i].alias),
														quote_identifier(m->pg_name)));
					restc = lappend_int(restc, class_of_type(m->pg_type));
					ncols++;
				}
			}
		}
		else
		{
			StringInfoData e;
			TypeClass	tc;

			initStringInfo(&e);
			d.allow_agg = true;
			if (!dp_expr(&d, rc->expr, &e, &tc))
			{
				*reason = d.reason;
				return NULL;
			}
			if (viewcols != NIL)
				name = (ncols < list_length(viewcols)) ?
					ascii_lower(list_nth(viewcols, ncols)) : NULL;
			else if (rc->alias)
				name = ascii_lower(rc->alias);
			else if (rc->expr->k == N_COL)
				name = d.last_col;	/* the column's migrated name */
			else
				name = ascii_lower(pnstrdup(create_view_sql + rc->expr->start,
											rc->expr->end - rc->expr->start));
			if (name == NULL)
			{
				*reason = pstrdup("has more result columns than view column names");
				return NULL;
			}
			if (strlen(name) >= NAMEDATALEN)
			{
				*reason = psprintf("has a result column name longer than %d bytes",
								   NAMEDATALEN - 1);
				return NULL;
			}
			sep(&buf, &first, ", ");
			appendStringInfo(&buf, "%s AS %s", e.data, quote_identifier(name));
			outnames = lappend(outnames, name);
			restext = lappend(restext, e.data);
			restc = lappend_int(restc, tc);
			ncols++;
		}
	}
	if (viewcols != NIL && ncols != list_length(viewcols))
	{
		*reason = pstrdup("has a different number of result columns and view column names");
		return NULL;
	}

	/* FROM and joins */
	d.allow_agg = false;
	appendStringInfoString(&buf, " FROM ");
	i = 0;
	foreach(lc, from)
	{
		FromParse  *f = lfirst(lc);
		FromItem   *fi = &d.items[i];
		StringInfoData item;

		initStringInfo(&item);
		appendStringInfo(&item, "%s.%s AS %s",
						 quote_identifier(fi->table->pg_schema),
						 quote_identifier(fi->table->pg_name),
						 quote_identifier(fi->alias));
		if (f->first)
			appendStringInfoString(&buf, item.data);
		else if (f->on == NULL && f->using == NIL)
			appendStringInfo(&buf, " CROSS JOIN %s", item.data);
		else
		{
			appendStringInfo(&buf, " %s JOIN %s", f->left ? "LEFT" : "INNER", item.data);
			if (f->on != NULL)
			{
				TypeClass	tc;
				int			save = d.nitems;

				/* ON sees only this item and those before it */
				d.nitems = i + 1;
				appendStringInfoString(&buf, " ON ");
				if (!dp_expr(&d, f->on, &buf, &tc))
				{
					*reason = d.reason;
					return NULL;
				}
				d.nitems = save;
			}
			else
			{
				ListCell   *lc2;
				bool		ufirst = true;

				/* USING (a, b): both sides must have the columns */
				appendStringInfoString(&buf, " USING (");
				foreach(lc2, f->using)
				{
					char	   *col = lfirst(lc2);
					SqliteNameMap *m = find_column(fi->table->colmap, col);
					int			j,
								found = 0;

					for (j = 0; j < i; j++)
						if (find_column(d.items[j].table->colmap, col))
						{
							found++;
							if (m && strcmp(find_column(d.items[j].table->colmap, col)->pg_name,
											m->pg_name) != 0)
								found = 2;
						}
					if (m == NULL || found != 1)
					{
						*reason = psprintf("uses USING (\"%s\") with a column not in exactly one table on each side under one name",
										   col);
						return NULL;
					}
					sep(&buf, &ufirst, ", ");
					appendStringInfoString(&buf, quote_identifier(m->pg_name));
				}
				appendStringInfoChar(&buf, ')');
			}
		}
		i++;
	}

	if (where != NULL)
	{
		TypeClass	tc;

		appendStringInfoString(&buf, " WHERE ");
		if (!dp_expr(&d, where, &buf, &tc))
		{
			*reason = d.reason;
			return NULL;
		}
		if (tc != TC_BOOL && tc != TC_NULL)
		{
			*reason = pstrdup("has a WHERE clause that is not known to be a truth value");
			return NULL;
		}
	}
	if (groupby != NIL)
	{
		appendStringInfoString(&buf, " GROUP BY ");
		first = true;
		foreach(lc, groupby)
		{
			TypeClass	tc;
			SNode	   *g = lfirst(lc);

			sep(&buf, &first, ", ");
			if (g->k == N_INT)
			{
				*reason = pstrdup("groups by column position");
				return NULL;
			}
			if (!dp_expr(&d, g, &buf, &tc))
			{
				*reason = d.reason;
				return NULL;
			}
		}
	}
	if (having != NULL)
	{
		TypeClass	tc;

		appendStringInfoString(&buf, " HAVING ");
		d.allow_agg = true;
		if (!dp_expr(&d, having, &buf, &tc))
		{
			*reason = d.reason;
			return NULL;
		}
		if (tc != TC_BOOL && tc != TC_NULL)
		{
			*reason = pstrdup("has a HAVING clause that is not known to be a truth value");
			return NULL;
		}
	}
	if (orderby != NIL)
	{
		appendStringInfoString(&buf, " ORDER BY ");
		first = true;
		foreach(lc, orderby)
		{
			SNode	   *o = lfirst(lc);
			TypeClass	tc;
			const char *nulls;

			int			pos = 0;

			sep(&buf, &first, ", ");
			if (o->a->k == N_INT)
			{
				pos = (int) Min(strtol(o->a->s, NULL, 10), (long) INT_MAX);
				if (pos < 1 || pos > ncols)
				{
					*reason = pstrdup("orders by a column position out of range");
					return NULL;
				}
			}
			else if (o->a->k == N_COL && o->a->s2 == NULL)
			{
				/* a result column name: SQLite looks for it first */
				ListCell   *lc2;
				int			k = 0;
				char	   *lname = ascii_lower(o->a->s);

				foreach(lc2, outnames)
				{
					k++;
					if (strcmp((char *) lfirst(lc2), lname) == 0)
					{
						pos = k;
						break;
					}
				}
			}
			if (pos > 0)
			{
				/*
				 * Repeat the result expression rather than name or number
				 * it, so that text can be ordered in byte order.
				 */
				tc = list_nth_int(restc, pos - 1);
				if (tc == TC_TEXT)
					append_collate_c(&buf, list_nth(restext, pos - 1));
				else
					appendStringInfoString(&buf, list_nth(restext, pos - 1));
				if (tc == TC_UNKNOWN || tc == TC_BLOB)
				{
					*reason = pstrdup("orders by a value whose type is not known");
					return NULL;
				}
			}
			else
			{
				d.allow_agg = true;
				if (!dp_ordered(&d, o->a, &buf, &tc))
				{
					*reason = d.reason;
					return NULL;
				}
				if (tc == TC_UNKNOWN || tc == TC_BLOB)
				{
					*reason = pstrdup("orders by a value whose type is not known");
					return NULL;
				}
			}
			/* SQLite: NULLs are smaller than any value */
			nulls = o->s ? o->s : (o->neg ? "LAST" : "FIRST");
			appendStringInfo(&buf, " %s NULLS %s", o->neg ? "DESC" : "ASC", nulls);
		}
	}
	if (limit != NULL)
	{
		appendStringInfoString(&buf, " LIMIT ");
		if (!dp_limit(&d, limit, &buf, "LIMIT"))
		{
			*reason = d.reason;
			return NULL;
		}
	}
	if (offset != NULL)
	{
		appendStringInfoString(&buf, " OFFSET ");
		if (!dp_limit(&d, offset, &buf, "OFFSET"))
		{
			*reason = d.reason;
			return NULL;
		}
	}

	/* the safety net */
	s = raw_parse_select(buf.data);
	memset(&c, 0, sizeof(c));
	c.view = true;
	c.aliases = aliases;
	c.tablemap = tablemap;
	if (s == NULL || s->intoClause != NULL || s->windowClause != NIL ||
		s->valuesLists != NIL || s->lockingClause != NIL ||
		s->withClause != NULL || s->op != SETOP_NONE || s->groupDistinct ||
		(s->distinctClause != NIL &&
		 !(list_length(s->distinctClause) == 1 && linitial(s->distinctClause) == NULL)) ||
		s->limitOption == LIMIT_OPTION_WITH_TIES ||
		!check_list(&c, s->targetList) || !check_list(&c, s->fromClause) ||
		!check_node(&c, s->whereClause) || !check_list(&c, s->groupClause) ||
		!check_node(&c, s->havingClause) || !check_node(&c, s->limitOffset) ||
		!check_node(&c, s->limitCount))
	{
		*reason = pstrdup("was translated into text that did not pass the final check");
		return NULL;
	}
	c.outnames = NIL;			/* ORDER BY uses positions or expressions */
	if (!check_list(&c, s->sortClause))
	{
		*reason = pstrdup("was translated into text that did not pass the final check");
		return NULL;
	}
	return buf.data;
}

/* ---------------------------------------------------------------------
 * CHECK constraints and generated columns of a CREATE TABLE text
 * ---------------------------------------------------------------------
 */

/* Index of the ')' matching the '(' at toks[i], or -1. */
static int
matching_paren(Token *toks, int ntok, int i)
{
	int			depth = 0;

	for (; i < ntok; i++)
	{
		if (toks[i].type != TK_OP)
			continue;
		if (strcmp(toks[i].val, "(") == 0)
			depth++;
		else if (strcmp(toks[i].val, ")") == 0 && --depth == 0)
			return i;
	}
	return -1;
}

static bool
tok_is_kw(Token *t, const char *kw)
{
	return t->type == TK_WORD && pg_strcasecmp(t->val, kw) == 0;
}

static bool
tok_is_op(Token *t, const char *op)
{
	return t->type == TK_OP && strcmp(t->val, op) == 0;
}

/* Exact source text between the parentheses at toks[open] and toks[close]. */
static char *
text_between(const char *src, Token *toks, int open, int close)
{
	int			s = toks[open].end;
	int			e = toks[close].start;

	while (s < e && isspace((unsigned char) src[s]))
		s++;
	while (e > s && isspace((unsigned char) src[e - 1]))
		e--;
	return pnstrdup(src + s, e - s);
}

/*
 * Tokenize a CREATE TABLE text and find its column list: *first is the
 * first token inside the parentheses, *end the closing parenthesis.
 * Returns false for anything else (CREATE TABLE ... AS, malformed text).
 */
static bool
table_column_list(const char *sql, TokList *tl, int *first, int *end)
{
	char	   *reason = NULL;
	int			i;

	if (sql == NULL || strlen(sql) > 10 * 1024 * 1024 ||
		!sqlite_tokenize(sql, strlen(sql), tl, &reason))
		return false;
	/* CREATE [TEMP|TEMPORARY] TABLE [IF NOT EXISTS] name ( ... */
	for (i = 0; i < tl->ntok && !tok_is_op(&tl->toks[i], "("); i++)
		if (tok_is_kw(&tl->toks[i], "AS"))
			return false;
	if (i >= tl->ntok || i < 3 || !tok_is_kw(&tl->toks[0], "CREATE"))
		return false;
	*end = matching_paren(tl->toks, tl->ntok, i);
	*first = i + 1;
	return *end >= 0;
}

/* The end of the column-list item that starts at token i: a comma at depth 0. */
static int
next_item_end(Token *toks, int i, int end)
{
	int			depth = 0;

	for (; i < end; i++)
	{
		if (tok_is_op(&toks[i], "("))
			depth++;
		else if (tok_is_op(&toks[i], ")"))
			depth--;
		else if (depth == 0 && tok_is_op(&toks[i], ","))
			break;
	}
	return i;
}

/*
 * Walk the items of a CREATE TABLE's column and constraint list, calling
 * back for CHECK constraints or generated columns.  Returns NIL for text
 * that is not a CREATE TABLE with a parenthesized list, or that does not
 * tokenize; never raises an ERROR.
 */
static List *
extract_table_exprs(const char *sql, bool want_checks)
{
	TokList		tl;
	Token	   *toks;
	int			i,
				end;
	List	   *result = NIL;

	if (!table_column_list(sql, &tl, &i, &end))
		return NIL;
	toks = tl.toks;

	while (i < end)
	{
		char	   *column = NULL;
		char	   *cname = NULL;
		int			j;

		/* the item runs to the next comma at depth 0 */
		int			item_end = next_item_end(toks, i, end);

		j = i;
		if (!(tok_is_kw(&toks[j], "CONSTRAINT") || tok_is_kw(&toks[j], "CHECK") ||
			  tok_is_kw(&toks[j], "PRIMARY") || tok_is_kw(&toks[j], "UNIQUE") ||
			  tok_is_kw(&toks[j], "FOREIGN")) &&
			(toks[j].type == TK_WORD || toks[j].type == TK_QIDENT ||
			 toks[j].type == TK_DQIDENT || toks[j].type == TK_STRING))
		{
			column = toks[j].val;
			j++;
		}

		while (j < item_end)
		{
			if (tok_is_kw(&toks[j], "CONSTRAINT") && j + 1 < item_end)
			{
				cname = toks[j + 1].val;
				j += 2;
				continue;
			}
			if (tok_is_kw(&toks[j], "CHECK") && j + 1 < item_end &&
				tok_is_op(&toks[j + 1], "("))
			{
				int			close = matching_paren(toks, item_end + 1, j + 1);

				if (close < 0 || close > item_end)
					break;
				if (want_checks)
				{
					SqliteTableExpr *te = palloc0(sizeof(SqliteTableExpr));

					te->name = cname;
					te->column = column;
					te->expr = text_between(sql, toks, j + 1, close);
					result = lappend(result, te);
				}
				cname = NULL;
				j = close + 1;
				continue;
			}
			if (column != NULL && tok_is_kw(&toks[j], "AS") && j + 1 < item_end &&
				tok_is_op(&toks[j + 1], "("))
			{
				int			close = matching_paren(toks, item_end + 1, j + 1);

				if (close < 0 || close > item_end)
					break;
				if (!want_checks)
				{
					SqliteTableExpr *te = palloc0(sizeof(SqliteTableExpr));

					te->name = cname;
					te->column = column;
					te->expr = text_between(sql, toks, j + 1, close);
					te->stored = (close + 1 < item_end &&
								  tok_is_kw(&toks[close + 1], "STORED"));
					result = lappend(result, te);
				}
				cname = NULL;
				j = close + 1;
				continue;
			}
			if (tok_is_op(&toks[j], "("))
			{
				/* a type's (n,m), a DEFAULT (expr), a REFERENCES list... */
				int			close = matching_paren(toks, item_end + 1, j);

				if (close < 0)
					break;
				j = close + 1;
				continue;
			}
			/* another constraint starts: a pending name was its own */
			if (tok_is_kw(&toks[j], "PRIMARY") || tok_is_kw(&toks[j], "NOT") ||
				tok_is_kw(&toks[j], "UNIQUE") || tok_is_kw(&toks[j], "DEFAULT") ||
				tok_is_kw(&toks[j], "COLLATE") || tok_is_kw(&toks[j], "REFERENCES"))
				cname = NULL;
			j++;
		}
		i = item_end + 1;
	}
	return result;
}

/*
 * sqlite_extract_checks
 *		The CHECK constraints of a SQLite CREATE TABLE text.
 *
 * Returns a List of SqliteTableExpr *: table constraints have column NULL,
 * column constraints name their column; name is the CONSTRAINT name or
 * NULL; expr is the exact text between the balanced parentheses.  Never
 * raises an ERROR: malformed text gives what could be read, or NIL.
 */
List *
sqlite_extract_checks(const char *create_table_sql)
{
	return extract_table_exprs(create_table_sql, true);
}

/*
 * sqlite_extract_generated
 *		The generated columns of a SQLite CREATE TABLE text.
 *
 * Returns a List of SqliteTableExpr * with column set, expr the exact text
 * between the parentheses after AS, stored true for STORED (SQLite's
 * default is VIRTUAL).  Never raises an ERROR.
 */
List *
sqlite_extract_generated(const char *create_table_sql)
{
	return extract_table_exprs(create_table_sql, false);
}

/*
 * sqlite_extract_index_parts
 *		The key items and the partial-index predicate of a SQLite CREATE
 *		INDEX text, read with the tokenizer (so quotes and comments cannot
 *		mislead it).
 *
 * *items is a List of char *: each key item's exact text without a trailing
 * COLLATE name or ASC/DESC; NIL when the text does not tokenize or has no
 * key list.  *where is the text after the top-level WHERE, or NULL.  Never
 * raises an ERROR.
 */
void
sqlite_extract_index_parts(const char *sql, List **items, char **where)
{
	TokList		tl;
	Token	   *toks;
	char	   *reason = NULL;
	int			open,
				close,
				i,
				j;

	*items = NIL;
	*where = NULL;
	if (sql == NULL || strlen(sql) > 10 * 1024 * 1024 ||
		!sqlite_tokenize(sql, strlen(sql), &tl, &reason))
		return;
	toks = tl.toks;
	for (open = 0; open < tl.ntok && !tok_is_op(&toks[open], "("); open++)
		;
	if (open >= tl.ntok || !tok_is_kw(&toks[0], "CREATE"))
		return;
	close = matching_paren(toks, tl.ntok, open);
	if (close < 0)
		return;

	for (i = open + 1; i < close; i = j + 1)
	{
		int			e;

		CHECK_FOR_INTERRUPTS();
		j = next_item_end(toks, i, close);
		e = j;
		/* drop a trailing ASC/DESC, then COLLATE name, in either order */
		for (;;)
		{
			if (e - 1 > i && (tok_is_kw(&toks[e - 1], "ASC") ||
							  tok_is_kw(&toks[e - 1], "DESC")))
				e--;
			else if (e - 2 > i && tok_is_kw(&toks[e - 2], "COLLATE"))
				e -= 2;
			else
				break;
		}
		if (e <= i)
		{
			list_free_deep(*items);
			*items = NIL;
			break;
		}
		*items = lappend(*items, pnstrdup(sql + toks[i].start,
										  toks[e - 1].end - toks[i].start));
	}

	for (i = close + 1; i < tl.ntok && toks[i].type != TK_EOF; i++)
	{
		if (tok_is_kw(&toks[i], "WHERE"))
		{
			int			last = tl.ntok - 1;

			/* the last token before EOF, leaving out a trailing ';' */
			while (last > i && (toks[last].type == TK_EOF ||
								tok_is_op(&toks[last], ";")))
				last--;
			if (last > i)
				*where = pnstrdup(sql + toks[i + 1].start,
								  toks[last].end - toks[i + 1].start);
			break;
		}
	}
}

/* ---------------------------------------------------------------------
 * SQL-callable test function
 * ---------------------------------------------------------------------
 */

/*
 * sqlite_translate_expr(expr text, kind text, target_type regtype,
 *						 columns text[]) RETURNS text
 *
 * Translates as migrate_sqlite would; columns keep their names, lower-cased,
 * with unknown types.  Returns NULL after a NOTICE with the reason when the
 * expression is not translated; NULL for a NULL expr.
 */
Datum
sqlite_translate_expr_sql(PG_FUNCTION_ARGS)
{
	char	   *expr;
	char	   *kindstr;
	SqliteExprKind kind;
	Oid			target = InvalidOid;
	List	   *colmap = NIL;
	char	   *reason = NULL;
	char	   *result;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("kind must not be null")));
	expr = text_to_cstring(PG_GETARG_TEXT_PP(0));
	kindstr = text_to_cstring(PG_GETARG_TEXT_PP(1));
	if (strcmp(kindstr, "default") == 0)
		kind = SQLITE_EXPR_DEFAULT;
	else if (strcmp(kindstr, "check") == 0)
		kind = SQLITE_EXPR_CHECK;
	else if (strcmp(kindstr, "generated") == 0)
		kind = SQLITE_EXPR_GENERATED;
	else if (strcmp(kindstr, "index") == 0)
		kind = SQLITE_EXPR_INDEX;
	else if (strcmp(kindstr, "where") == 0)
		kind = SQLITE_EXPR_WHERE;
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid expression kind \"%s\"", kindstr),
				 errhint("Valid kinds are default, check, generated, index and where.")));
	if (!PG_ARGISNULL(2))
		target = PG_GETARG_OID(2);
	if (!PG_ARGISNULL(3))
	{
		ArrayType  *arr = PG_GETARG_ARRAYTYPE_P(3);
		Datum	   *elems;
		bool	   *nulls;
		int			n,
					i;

		deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT,
						  &elems, &nulls, &n);
		for (i = 0; i < n; i++)
		{
			SqliteNameMap *m;

			if (nulls[i])
				continue;
			m = palloc0(sizeof(SqliteNameMap));
			m->sqlite_name = TextDatumGetCString(elems[i]);
			m->pg_name = ascii_lower(m->sqlite_name);
			m->pg_type = InvalidOid;
			colmap = lappend(colmap, m);
		}
	}

	result = sqlite_translate_expr(expr, kind, target, colmap, &reason);
	if (result == NULL)
	{
		ereport(NOTICE,
				(errmsg("not translated: %s", reason)));
		PG_RETURN_NULL();
	}
	PG_RETURN_TEXT_P(cstring_to_text(result));
}

/*
 * sqlite_extract_fkeys
 *		The foreign keys of a CREATE TABLE text with their DEFERRABLE
 *		clauses (pragma_foreign_key_list does not report those): a List of
 *		SqliteFKeyText.  Never raises an ERROR; malformed text gives NIL.
 */
List *
sqlite_extract_fkeys(const char *sql)
{
	TokList		tl;
	Token	   *toks;
	int			i,
				end;
	List	   *result = NIL;

	if (!table_column_list(sql, &tl, &i, &end))
		return NIL;
	toks = tl.toks;

	while (i < end)
	{
		List	   *from = NIL;
		int			j;

		int			item_end = next_item_end(toks, i, end);

		j = i;
		if (tok_is_kw(&toks[j], "CONSTRAINT") && j + 2 < item_end)
			j += 2;
		if (tok_is_kw(&toks[j], "FOREIGN") && j + 2 < item_end &&
			tok_is_kw(&toks[j + 1], "KEY") && tok_is_op(&toks[j + 2], "("))
		{
			int			close = matching_paren(toks, item_end + 1, j + 2);
			int			k;

			if (close < 0)
				break;
			for (k = j + 3; k < close; k++)
				if (!tok_is_op(&toks[k], ","))
					from = lappend(from, toks[k].val);
			j = close + 1;
		}
		else if (toks[j].type == TK_WORD || toks[j].type == TK_QIDENT ||
				 toks[j].type == TK_DQIDENT || toks[j].type == TK_STRING)
			from = list_make1(toks[j].val);		/* a column definition */

		for (; j < item_end; j++)
		{
			SqliteFKeyText *fk;
			int			k;

			if (!tok_is_kw(&toks[j], "REFERENCES") || j + 1 >= item_end)
				continue;
			fk = palloc0(sizeof(SqliteFKeyText));
			fk->parent = toks[j + 1].val;
			fk->from = from;
			/* the clause runs to the next constraint or the item's end */
			for (k = j + 2; k < item_end; k++)
			{
				if (tok_is_kw(&toks[k], "CONSTRAINT") || tok_is_kw(&toks[k], "CHECK") ||
					tok_is_kw(&toks[k], "REFERENCES") || tok_is_kw(&toks[k], "DEFAULT") ||
					tok_is_kw(&toks[k], "COLLATE") || tok_is_kw(&toks[k], "UNIQUE") ||
					tok_is_kw(&toks[k], "PRIMARY"))
					break;
				if (tok_is_kw(&toks[k], "DEFERRABLE"))
					fk->deferrable = !(k > 0 && tok_is_kw(&toks[k - 1], "NOT"));
				if (tok_is_kw(&toks[k], "INITIALLY") && k + 1 < item_end &&
					tok_is_kw(&toks[k + 1], "DEFERRED"))
					fk->initially_deferred = true;
			}
			if (!fk->deferrable)
				fk->initially_deferred = false;
			result = lappend(result, fk);
			j = k - 1;
		}
		i = item_end + 1;
	}
	return result;
}
