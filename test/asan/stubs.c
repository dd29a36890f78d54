/*
 * stubs.c: backend functions that typemap.c, translate.c and profile.c
 * reference but the harness never reaches (catalog lookups, GUCs, tuples,
 * the SQL-callable wrappers' argument handling).  Each one aborts with its
 * name, so reaching one is a harness failure, never a silent wrong answer.
 * No PostgreSQL header is included: only the symbol names matter.
 */
#include <stdio.h>
#include <stdlib.h>

#define STUB(name) \
	void name(void); \
	void name(void) { fprintf(stderr, "harness: stub %s called\n", #name); abort(); }

STUB(AtEOXact_GUC)
STUB(DecrTupleDescRefCount)
STUB(HeapTupleHeaderGetDatum)
STUB(InputFunctionCall)
STUB(NewGUCNestLevel)
STUB(ReleaseSysCache)
STUB(SearchSysCache1)
STUB(domain_check)
STUB(fmgr_info_cxt)
STUB(getTypeInputInfo)
STUB(get_type_category_preferred)
STUB(get_typtype)
STUB(heap_form_tuple)
STUB(lookup_rowtype_tupdesc)
STUB(lookup_rowtype_tupdesc_copy)
STUB(set_config_option)
STUB(deconstruct_array)
STUB(pg_detoast_datum)
STUB(pg_detoast_datum_packed)
