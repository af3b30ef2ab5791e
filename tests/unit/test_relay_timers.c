/* SPDX-License-Identifier: MIT */
/* The relay's deadline heap (relay_timers.h): order, ties, moves, cancels, growth. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../host/relay/relay_timers.h"

/* Checks the heap property and every timer's back-pointer. */
static void assert_heap(const struct relay_timers *h)
{
	for (size_t i = 0; i < h->count; i++) {
		assert_int_equal(h->heap[i]->pos, i);
		if (i) {
			const struct relay_timer *p = h->heap[(i - 1) / 2], *c = h->heap[i];

			assert_true(p->at < c->at || (p->at == c->at && p->seq < c->seq));
		}
	}
}

static void timers_pop_in_deadline_order(void **state)
{
	static const uint64_t at[] = { 50, 10, 40, 30, 20, 60, 5 };
	struct relay_timer t[7];
	struct relay_timers h;
	uint64_t last = 0;

	(void)state;
	relay_timers_init(&h);
	assert_null(relay_timers_first(&h));
	assert_true(relay_timers_next(&h) == RELAY_TIMER_NEVER);
	for (size_t i = 0; i < 7; i++) {
		relay_timer_init(&t[i]);
		assert_false(relay_timer_armed(&t[i]));
		assert_int_equal(relay_timers_set(&h, &t[i], at[i]), 0);
		assert_true(relay_timer_armed(&t[i]));
		assert_heap(&h);
	}
	assert_int_equal(relay_timers_count(&h), 7);
	assert_ptr_equal(relay_timers_first(&h), &t[6]);
	assert_true(relay_timers_next(&h) == 5);
	/* Nothing is due before the first deadline. */
	assert_null(relay_timers_pop_due(&h, 4));
	assert_int_equal(relay_timers_count(&h), 7);
	/* At 45, the five earliest come out in order, and only they. */
	for (int n = 0; n < 5; n++) {
		struct relay_timer *d = relay_timers_pop_due(&h, 45);

		assert_non_null(d);
		assert_false(relay_timer_armed(d));
		assert_true((uint64_t)(d - t) < 7);
		assert_true(at[d - t] >= last && at[d - t] <= 45);
		last = at[d - t];
		assert_heap(&h);
	}
	assert_null(relay_timers_pop_due(&h, 45));
	assert_int_equal(relay_timers_count(&h), 2);
	assert_ptr_equal(relay_timers_pop_due(&h, 100), &t[0]);
	assert_ptr_equal(relay_timers_pop_due(&h, 100), &t[5]);
	assert_null(relay_timers_pop_due(&h, UINT64_MAX - 1));
	relay_timers_free(&h);
}

static void timers_equal_deadlines_in_set_order(void **state)
{
	struct relay_timer t[6];
	struct relay_timers h;

	(void)state;
	relay_timers_init(&h);
	for (size_t i = 0; i < 6; i++) {
		relay_timer_init(&t[i]);
		assert_int_equal(relay_timers_set(&h, &t[i], 7), 0);
	}
	/* Setting one again puts it behind the others of its deadline. */
	assert_int_equal(relay_timers_set(&h, &t[1], 7), 0);
	assert_heap(&h);
	static const int order[] = { 0, 2, 3, 4, 5, 1 };
	for (size_t i = 0; i < 6; i++)
		assert_ptr_equal(relay_timers_pop_due(&h, 7), &t[order[i]]);
	assert_int_equal(relay_timers_count(&h), 0);
	relay_timers_free(&h);
}

static void timers_move_and_cancel(void **state)
{
	struct relay_timer t[5];
	struct relay_timers h;

	(void)state;
	relay_timers_init(&h);
	for (size_t i = 0; i < 5; i++) {
		relay_timer_init(&t[i]);
		assert_int_equal(relay_timers_set(&h, &t[i], 100 + 10 * i), 0);
	}
	/* Earlier: the last becomes the first. Later: the first goes to the end. */
	assert_int_equal(relay_timers_set(&h, &t[4], 1), 0);
	assert_heap(&h);
	assert_ptr_equal(relay_timers_first(&h), &t[4]);
	assert_int_equal(relay_timers_set(&h, &t[4], 1000), 0);
	assert_heap(&h);
	assert_ptr_equal(relay_timers_first(&h), &t[0]);
	/* Cancel the root, a middle one and the last slot; cancelling twice is harmless. */
	relay_timers_cancel(&h, &t[0]);
	relay_timers_cancel(&h, &t[2]);
	relay_timers_cancel(&h, &t[2]);
	assert_false(relay_timer_armed(&t[0]));
	assert_false(relay_timer_armed(&t[2]));
	assert_heap(&h);
	assert_int_equal(relay_timers_count(&h), 3);
	/* NEVER cancels too. */
	assert_int_equal(relay_timers_set(&h, &t[3], RELAY_TIMER_NEVER), 0);
	assert_false(relay_timer_armed(&t[3]));
	assert_int_equal(relay_timers_count(&h), 2);
	assert_ptr_equal(relay_timers_pop_due(&h, 2000), &t[1]);
	assert_ptr_equal(relay_timers_pop_due(&h, 2000), &t[4]);
	assert_null(relay_timers_pop_due(&h, 2000));
	/* A cancelled timer can be armed again. */
	assert_int_equal(relay_timers_set(&h, &t[2], 5), 0);
	assert_ptr_equal(relay_timers_pop_due(&h, 5), &t[2]);
	relay_timers_free(&h);
}

/* Pseudo-random deadlines, moves and cancels on many timers, against a plain scan. */
static void timers_grow_and_match_a_scan(void **state)
{
	enum { N = 1000 };
	struct relay_timer *t = calloc(N, sizeof(*t));
	struct relay_timers h;
	uint32_t x = 12345;

	(void)state;
	assert_non_null(t);
	relay_timers_init(&h);
	assert_int_equal(relay_timers_reserve(&h, 3), 0);
	assert_true(h.cap >= 3);
	for (size_t i = 0; i < N; i++)
		relay_timer_init(&t[i]);
	for (int step = 0; step < 20000; step++) {
		size_t i;

		x = x * 1103515245u + 12345u;
		i = (x >> 8) % N;
		if ((x >> 4) % 5 == 0)
			relay_timers_cancel(&h, &t[i]);
		else
			assert_int_equal(relay_timers_set(&h, &t[i], (x >> 12) % 500), 0);
		if (step % 997 == 0)
			assert_heap(&h);
	}
	assert_heap(&h);
	assert_true(h.cap >= h.count);
	/* Popping everything gives the armed timers in (deadline, set order). */
	size_t armed = 0;
	for (size_t i = 0; i < N; i++)
		armed += relay_timer_armed(&t[i]);
	assert_int_equal(relay_timers_count(&h), armed);
	struct relay_timer *d;
	uint64_t prev_at = 0, prev_seq = 0;
	size_t popped = 0;
	while ((d = relay_timers_pop_due(&h, RELAY_TIMER_NEVER - 1))) {
		/* pop_due disarms but leaves the deadline it had */
		assert_false(relay_timer_armed(d));
		if (popped)
			assert_true(prev_at < d->at || (prev_at == d->at && prev_seq < d->seq));
		prev_at = d->at;
		prev_seq = d->seq;
		popped++;
	}
	assert_int_equal(popped, armed);
	relay_timers_free(&h);
	free(t);
}

/* A reserve past the armed count means set never allocates: the pointer stays. */
static void timers_reserve_is_kept(void **state)
{
	struct relay_timer t[40];
	struct relay_timers h;
	struct relay_timer **heap;

	(void)state;
	relay_timers_init(&h);
	assert_int_equal(relay_timers_reserve(&h, 40), 0);
	heap = h.heap;
	for (size_t i = 0; i < 40; i++) {
		relay_timer_init(&t[i]);
		assert_int_equal(relay_timers_set(&h, &t[i], 40 - i), 0);
	}
	assert_ptr_equal(h.heap, heap);
	assert_int_equal(relay_timers_reserve(&h, 10), 0); /* never shrinks */
	assert_ptr_equal(h.heap, heap);
	relay_timers_free(&h);
	for (size_t i = 0; i < 40; i++)
		assert_false(relay_timer_armed(&t[i])); /* free disarms what was left */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(timers_pop_in_deadline_order),
		cmocka_unit_test(timers_equal_deadlines_in_set_order),
		cmocka_unit_test(timers_move_and_cancel),
		cmocka_unit_test(timers_grow_and_match_a_scan),
		cmocka_unit_test(timers_reserve_is_kept),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
