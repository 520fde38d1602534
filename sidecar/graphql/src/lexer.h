/*
 * lexer.h — GraphQL lexical analysis (spec section 2.1): tokens with
 * line/column, decoded string values, token-count limit.
 */
#ifndef BYRON_GRAPHQL_LEXER_H
#define BYRON_GRAPHQL_LEXER_H

#include "internal.h"

typedef enum gql_token_kind {
    GQL_TOK_EOF,
    GQL_TOK_BANG,
    GQL_TOK_DOLLAR,
    GQL_TOK_AMP,
    GQL_TOK_LPAREN,
    GQL_TOK_RPAREN,
    GQL_TOK_SPREAD,
    GQL_TOK_COLON,
    GQL_TOK_EQUALS,
    GQL_TOK_AT,
    GQL_TOK_LBRACKET,
    GQL_TOK_RBRACKET,
    GQL_TOK_LBRACE,
    GQL_TOK_PIPE,
    GQL_TOK_RBRACE,
    GQL_TOK_NAME,
    GQL_TOK_INT,
    GQL_TOK_FLOAT,
    GQL_TOK_STRING,
    GQL_TOK_BLOCK_STRING,
} gql_token_kind_t;

typedef struct gql_token {
    gql_token_kind_t kind;
    const char *start; /* raw text in the source */
    size_t len;
    gql_loc_t loc;
    char *value; /* NAME/INT/FLOAT raw copy, STRING decoded; in the arena */
    size_t value_len;
} gql_token_t;

typedef struct gql_lexer {
    const char *src, *end, *p;
    uint32_t line;
    const char *col_ptr; /* column known at this position (lazily advanced) */
    uint32_t col;
    size_t ntokens, max_tokens;
    gql_arena_t *arena;
    bool limit_hit; /* the error is a limit, not syntax */
    char err[256];
    gql_loc_t err_loc;
} gql_lexer_t;

void gql_lexer_init(gql_lexer_t *lx, const char *src, size_t len, size_t max_tokens, gql_arena_t *arena);
/* 0 with *tok filled, -1 with lx->err / lx->err_loc. */
int gql_lexer_next(gql_lexer_t *lx, gql_token_t *tok);
const char *gql_token_kind_str(gql_token_kind_t k);

#endif
