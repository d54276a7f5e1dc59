/* dp_flights (src/lib/reuse.h): the in-flight registry's rules: the
 * first claim owns a key, later ones wait; settling hands the waiters
 * over; a failure passes the claim to the first waiter at most
 * DP_FLIGHT_TRIES - 1 times; the table grows and frees what is left. */
#include <stdlib.h>

#include "reuse.h"
#include "t.h"

static void key_of(int n, char key[DP_HASH_HEX])
{
	dp_reuse_key("summary", "test", "", (const char *)&n, sizeof n, key);
}

int main(void)
{
	dp_flights *f = dp_flights_new();
	char a[DP_HASH_HEX], b[DP_HASH_HEX];
	int docs[4];
	dp_flight_waiter *w, heir;

	key_of(1, a);
	key_of(2, b);
	T_EQ_INT(dp_flights_claim(f, a, &docs[0], 0), 1, "the first claim of a key owns it");
	T_EQ_INT(dp_flights_claim(f, b, &docs[0], 1), 1, "another key: owned too");
	T_EQ_INT(dp_flights_claim(f, a, &docs[1], 0), 0, "a copy waits");
	T_EQ_INT(dp_flights_claim(f, a, &docs[2], 3), 0, "a second copy waits");
	T_EQ_INT(dp_flights_settle(f, a, &docs[1], 0, &w), 0, "only its owner ends a claim");
	free(w);
	size_t n = dp_flights_settle(f, a, &docs[0], 0, &w);
	T_EQ_INT(n, 2, "settled: its two waiters are handed back");
	T_OK(n == 2 && w[0].who == &docs[1] && w[1].who == &docs[2] && w[1].i == 3, "in the order they came");
	free(w);
	T_EQ_INT(dp_flights_claim(f, a, &docs[3], 0), 1, "a settled key is owned anew");

	/* b: its owner fails; a waiter asks in its place, once. */
	dp_flights_claim(f, b, &docs[1], 1);
	dp_flights_claim(f, b, &docs[2], 1);
	T_EQ_INT(dp_flights_hand_over(f, b, &docs[0], 1, 1, &heir), 1, "a failed owner with waiters: the first asks");
	T_OK(heir.who == &docs[1] && heir.i == 1, "the heir is the first waiter");
	T_EQ_INT(dp_flights_claim(f, b, &docs[0], 1), 0, "the failed owner waits on it");
	T_EQ_INT(dp_flights_hand_over(f, b, &docs[1], 1, 1, &heir), 0, "a second failure: no one asks again");
	n = dp_flights_settle(f, b, &docs[1], 1, &w);
	T_OK(n == 2 && w[0].who == &docs[2] && w[1].who == &docs[0], "the waiters left fail with it");
	free(w);

	/* Unasked hand-overs (a failed document's claim) do not count. */
	dp_flights_claim(f, b, &docs[0], 2);
	dp_flights_claim(f, b, &docs[1], 2);
	dp_flights_claim(f, b, &docs[2], 2);
	T_EQ_INT(dp_flights_hand_over(f, b, &docs[0], 2, 0, &heir), 1, "dropped unasked: handed on");
	T_EQ_INT(dp_flights_hand_over(f, b, &docs[1], 2, 0, &heir), 1, "and again");
	T_EQ_INT(dp_flights_hand_over(f, b, &docs[2], 2, 0, &heir), 0, "no waiter left: nothing to hand");
	dp_flights_settle(f, b, &docs[2], 2, &w);
	free(w);

	/* Many keys (the buckets grow), then freed with a waiter left. */
	int ok = 1;
	for (int k = 100; k < 5100; k++) {
		char key[DP_HASH_HEX];
		key_of(k, key);
		ok &= dp_flights_claim(f, key, &docs[0], (size_t)k) == 1;
	}
	for (int k = 100; k < 5100; k++) {
		char key[DP_HASH_HEX];
		key_of(k, key);
		ok &= dp_flights_claim(f, key, &docs[1], (size_t)k) == 0;
	}
	T_OK(ok, "5,000 keys: each owned once, each copy waits");
	n = dp_flights_free(&f, &w);
	T_EQ_INT(n, 5000, "freed: the waiters left are handed back");
	T_OK(f == NULL, "and the table is gone");
	free(w);
	return t_done();
}
