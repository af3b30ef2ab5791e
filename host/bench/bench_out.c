/* SPDX-License-Identifier: MIT */
/* CSV rows and notes of a benchmark run. */
#include "bench_out.h"

#include <math.h>
#include <stdarg.h>

void bench_out_value(const struct bench_out *o, const char *metric, double value,
		     const char *unit)
{
	/* A NaN or infinity is no measurement: never print one as a number. */
	if (!isfinite(value)) {
		bench_out_na(o, metric, unit, "no finite value was measured");
		return;
	}
	/* Counts exactly; measurements to six significant digits. */
	if (value == (double)(long long)value && value < 1e15 && value > -1e15)
		fprintf(o->f, "%s,%s,%s,%lld,%s\n", o->accel, o->transport, metric,
			(long long)value, unit);
	else
		fprintf(o->f, "%s,%s,%s,%.6g,%s\n", o->accel, o->transport, metric, value, unit);
	fflush(o->f);
}

void bench_out_na(const struct bench_out *o, const char *metric, const char *unit,
		  const char *why)
{
	fprintf(o->f, "%s,%s,%s,n/a,%s\n", o->accel, o->transport, metric, unit);
	bench_out_note(o, metric, "n/a: %s", why);
}

void bench_out_note(const struct bench_out *o, const char *metric, const char *fmt, ...)
{
	va_list ap;

	fprintf(o->f, "# note %s %s %s: ", o->accel, o->transport, metric);
	va_start(ap, fmt);
	vfprintf(o->f, fmt, ap);
	va_end(ap);
	fputc('\n', o->f);
	fflush(o->f);
}
