/* The hub's re-send timeout (hub_delay, src/hub/hub.h): --timeout until a
 * document came back, then SRTT + 4 RTTVAR (RFC 6298) when that is longer. */
#include <math.h>

#include "../../src/hub/hub.h"
#include "t.h"

static int near(double got, double want) { return fabs(got - want) < 1e-9; }

int main(void)
{
	hub_delay d = {0};

	T_OK(near(hub_delay_timeout(&d, 300), 300), "no sample yet: --timeout");
	hub_delay_sample(&d, 2);
	T_OK(near(d.srtt, 2) && near(d.rttvar, 1), "first sample: SRTT R, RTTVAR R/2");
	T_OK(near(hub_delay_timeout(&d, 1), 6), "SRTT + 4 RTTVAR when over --timeout");
	T_OK(near(hub_delay_timeout(&d, 300), 300), "--timeout when longer");
	hub_delay_sample(&d, 4);
	T_OK(near(d.rttvar, 0.75 * 1 + 0.25 * 2) && near(d.srtt, 0.875 * 2 + 0.125 * 4),
	     "later samples: gains 1/4 and 1/8");
	for (int i = 0; i < 200; i++)
		hub_delay_sample(&d, 3);
	T_OK(fabs(d.srtt - 3) < 1e-6 && d.rttvar < 1e-6, "steady delays: SRTT converges, RTTVAR fades");
	T_OK(near(hub_delay_timeout(&d, 1), d.srtt + 4 * d.rttvar), "and the timeout with them");
	return t_done();
}
