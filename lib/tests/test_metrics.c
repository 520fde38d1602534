#include "byron/metrics.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

Test(metrics, renders_counters_gauges_histograms) {
    byron_metrics_t *m = byron_metrics_new();
    const char *labels[] = {"controller", "result", NULL};
    byron_metric_t *c =
        byron_metrics_register(m, BYRON_METRIC_COUNTER, "reconcile_total", "Reconciles.", labels, NULL, 0);
    byron_metric_t *g = byron_metrics_register(m, BYRON_METRIC_GAUGE, "depth", "Queue depth.", NULL, NULL, 0);
    const double buckets[] = {0.1, 1};
    byron_metric_t *h =
        byron_metrics_register(m, BYRON_METRIC_HISTOGRAM, "lat_seconds", "Latency.", NULL, buckets, 2);
    cr_assert_not_null(c);
    cr_assert_null(byron_metrics_register(m, BYRON_METRIC_GAUGE, "depth", "dup", NULL, NULL, 0));
    const char *ok[] = {"bc", "success"}, *quoted[] = {"a\"b\\c\n", "error"};
    byron_metric_add(c, ok, 1);
    byron_metric_add(c, ok, 2);
    byron_metric_add(c, quoted, 1);
    byron_metric_set(g, NULL, 5);
    byron_metric_observe(h, NULL, 0.05);
    byron_metric_observe(h, NULL, 0.5);
    byron_metric_observe(h, NULL, 5);
    cr_assert_eq(byron_metric_value(c, ok), 3);
    cr_assert_eq(byron_metric_value(h, NULL), 3);
    size_t len = 0;
    char *text = byron_metrics_render(m, &len);
    cr_assert_eq(strlen(text), len);
    cr_assert(strstr(text, "# TYPE reconcile_total counter\n"));
    cr_assert(strstr(text, "reconcile_total{controller=\"bc\",result=\"success\"} 3\n"), "%s", text);
    cr_assert(strstr(text, "reconcile_total{controller=\"a\\\"b\\\\c\\n\",result=\"error\"} 1\n"), "%s",
              text);
    cr_assert(strstr(text, "depth 5\n"));
    cr_assert(strstr(text, "lat_seconds_bucket{le=\"0.1\"} 1\n"), "%s", text);
    cr_assert(strstr(text, "lat_seconds_bucket{le=\"1\"} 2\n"));
    cr_assert(strstr(text, "lat_seconds_bucket{le=\"+Inf\"} 3\n"));
    cr_assert(strstr(text, "lat_seconds_sum 5.5499999999999998\n") || strstr(text, "lat_seconds_sum 5.55"),
              "%s", text);
    cr_assert(strstr(text, "lat_seconds_count 3\n"));
    free(text);
    byron_metrics_free(m);
}

Test(metrics, a_removed_series_is_no_longer_rendered) {
    byron_metrics_t *m = byron_metrics_new();
    const char *labels[] = {"stream", NULL};
    byron_metric_t *g =
        byron_metrics_register(m, BYRON_METRIC_GAUGE, "stream_bytes", "Bytes.", labels, NULL, 0);
    const char *a[] = {"A"}, *b[] = {"B"};
    byron_metric_set(g, a, 1);
    byron_metric_set(g, b, 2);
    byron_metric_remove(g, a);
    byron_metric_remove(g, a); /* twice: harmless */
    char *text = byron_metrics_render(m, NULL);
    cr_assert_null(strstr(text, "stream=\"A\""), "%s", text);
    cr_assert(strstr(text, "stream_bytes{stream=\"B\"} 2\n"), "%s", text);
    free(text);
    byron_metrics_free(m);
}
