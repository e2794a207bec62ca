/*
 * Test helper: a real Kafka-protocol broker on 127.0.0.1 for the export
 * tests, from librdkafka's mock cluster (rdkafka_mock.h).
 *
 *   kafka_mock_broker [TOPIC ...]
 *
 * Creates each TOPIC with one partition (so a consumer reads it in produce
 * order), prints the bootstrap address ("127.0.0.1:PORT") on one line of
 * stdout, then reads commands from stdin, one per line:
 *   down   the broker drops its connections and refuses new ones
 *   up     it accepts connections again
 *   quit   (or end of input) shut down
 * Each command is acknowledged with "ok" on stdout. SIGTERM shuts down too.
 * The process exits by itself after 30 minutes at most (a test that
 * forgets it cannot leave it running).
 */
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

static volatile sig_atomic_t stop;

static void on_signal(int signo) {
    (void)signo;
    stop = 1;
}

int main(int argc, char **argv) {
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "log_level", "0", err, sizeof err) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "kafka_mock_broker: %s\n", err);
        return 1;
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!rk) {
        fprintf(stderr, "kafka_mock_broker: %s\n", err);
        return 1;
    }
    rd_kafka_mock_cluster_t *cluster = rd_kafka_mock_cluster_new(rk, 1);
    if (!cluster) {
        fprintf(stderr, "kafka_mock_broker: cannot start the mock cluster\n");
        rd_kafka_destroy(rk);
        return 1;
    }
    for (int i = 1; i < argc; i++) {
        rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(cluster, argv[i], 1, 1);
        if (e) {
            fprintf(stderr, "kafka_mock_broker: topic %s: %s\n", argv[i], rd_kafka_err2str(e));
            rd_kafka_mock_cluster_destroy(cluster);
            rd_kafka_destroy(rk);
            return 1;
        }
    }
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    printf("%s\n", rd_kafka_mock_cluster_bootstraps(cluster));
    fflush(stdout);

    time_t deadline = time(NULL) + 30 * 60;
    char line[128];
    size_t used = 0;
    while (!stop && time(NULL) < deadline) {
        struct pollfd pfd = {STDIN_FILENO, POLLIN, 0};
        int ready = poll(&pfd, 1, 200);
        if (ready <= 0)
            continue;
        ssize_t n = read(STDIN_FILENO, line + used, sizeof line - 1 - used);
        if (n <= 0)
            break;
        used += (size_t)n;
        line[used] = '\0';
        char *nl;
        while ((nl = strchr(line, '\n')) != NULL) {
            *nl = '\0';
            if (!strcmp(line, "down"))
                rd_kafka_mock_broker_set_down(cluster, -1);
            else if (!strcmp(line, "up"))
                rd_kafka_mock_broker_set_up(cluster, -1);
            else if (!strcmp(line, "quit"))
                stop = 1;
            printf("ok\n");
            fflush(stdout);
            used -= (size_t)(nl + 1 - line);
            memmove(line, nl + 1, used + 1);
        }
        if (used == sizeof line - 1)
            used = 0; /* an overlong line is ignored */
    }
    rd_kafka_mock_cluster_destroy(cluster);
    rd_kafka_destroy(rk);
    return 0;
}
