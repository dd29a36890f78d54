/* shim.h: what the harness reads from shim.c */
#ifndef SHIM_H
#define SHIM_H
extern long shim_raw_parser_calls;
extern long shim_unavailable_calls;
extern char *shim_stack_base;
extern char shim_last_message[1024];
extern int	shim_last_sqlerrcode;
extern void shim_unavailable(const char *what) pg_attribute_noreturn();
#endif
