// simdjson_floor.cpp — the "touch two fields" floor of issue 22, with simdjson.
//
//   simdjson_floor ondemand|dom FILE
//
// Reads FILE (JSON lines) the way `secdet scan` and bench/parse_only.c do —
// read(2) into a large buffer, whole lines handed on, the partial last line
// carried over — and for every line reads the string values of `eventSource`
// and `eventName`, nothing else:
//
//   ondemand  simdjson's On-Demand API over each buffer of lines
//             (parser.iterate_many). On-Demand checks the UTF-8 and the
//             structure it indexes, but only the values it is asked for are
//             parsed: a malformed number or string elsewhere in a line goes
//             unnoticed. This is the fastest a scanner reading two fields
//             could be; the goal is judged against it.
//   dom       the same with the DOM API (parser.parse_many), which validates
//             every line fully (every string, number and literal) before the
//             two fields are read — what secdet's language requires of us
//             (a malformed line is reported, not evaluated). The honest floor.
//
// One thread: simdjson's document stream would otherwise parse the next batch
// on a second thread (`threaded`, when built with SIMDJSON_THREADS_ENABLED);
// the benchmark is per core. The buffer is 1 MiB, one batch per buffer (4 MiB
// ran as fast; 16 MiB and more slower, the batch no longer in cache).
// Fields are looked up in CloudTrail's order (eventSource comes before
// eventName), so the second lookup starts where the first one ended.
//
// Prints one line: "docs=N errors=N with_both=N console_logins=N impl=NAME"
// — a checksum the run compares with the input (docs and with_both must equal
// its line count, errors be 0) and that keeps the compiler from dropping the
// lookups. Lines are not counted here: that would be a pass more than the
// floor needs.
// Exit status 0, 1 on an I/O error or bad usage.
#include <simdjson.h>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <vector>

namespace {

struct Counts {
    size_t docs = 0;
    size_t errors = 0;
    size_t with_both = 0;
    size_t console_logins = 0;

    void seen(std::string_view source, std::string_view name) {
        with_both++;
        // Uses both values so that neither lookup can be optimised away.
        if (name == "ConsoleLogin" && source == "signin.amazonaws.com") console_logins++;
    }
};

// One buffer of whole lines, On-Demand.
void scan_ondemand(simdjson::ondemand::parser &parser, const char *buf, size_t len, Counts &c) {
    simdjson::ondemand::document_stream stream;
    if (parser.iterate_many(buf, len, len).get(stream)) {
        c.errors++;
        return;
    }
    for (auto doc : stream) {
        c.docs++;
        std::string_view source, name;
        if (doc["eventSource"].get_string().get(source) || doc["eventName"].get_string().get(name)) {
            c.errors++;
            continue;
        }
        c.seen(source, name);
    }
    if (stream.truncated_bytes() != 0) c.errors++;
}

// One buffer of whole lines, DOM: every document is fully parsed (validated)
// before it is handed out.
void scan_dom(simdjson::dom::parser &parser, const char *buf, size_t len, Counts &c) {
    simdjson::dom::document_stream stream;
    if (parser.parse_many(buf, len, len).get(stream)) {
        c.errors++;
        return;
    }
    for (auto doc : stream) {
        c.docs++;
        simdjson::dom::element root;
        if (doc.get(root)) {
            c.errors++;
            continue;
        }
        std::string_view source, name;
        if (root["eventSource"].get_string().get(source) || root["eventName"].get_string().get(name)) {
            c.errors++;
            continue;
        }
        c.seen(source, name);
    }
}

} // namespace

int main(int argc, char **argv) {
    if (argc != 3 || (std::strcmp(argv[1], "ondemand") != 0 && std::strcmp(argv[1], "dom") != 0)) {
        std::fprintf(stderr, "usage: %s ondemand|dom FILE\n", argv[0]);
        return 1;
    }
    const bool dom = std::strcmp(argv[1], "dom") == 0;
    int fd = open(argv[2], O_RDONLY);
    if (fd < 0) {
        std::fprintf(stderr, "simdjson_floor: %s: %s\n", argv[2], std::strerror(errno));
        return 1;
    }

    simdjson::ondemand::parser od_parser;
    simdjson::dom::parser dom_parser;
#ifdef SIMDJSON_THREADS_ENABLED
    od_parser.threaded = false;
    dom_parser.threaded = false;
#endif
    Counts c;
    size_t cap = size_t{1} << 20;
    std::vector<char> buf(cap + simdjson::SIMDJSON_PADDING);
    size_t have = 0;
    bool eof = false;
    while (!eof || have > 0) {
        if (!eof) {
            if (have == cap) { // a line longer than the buffer: grow it
                cap *= 2;
                buf.resize(cap + simdjson::SIMDJSON_PADDING);
            }
            ssize_t n = read(fd, buf.data() + have, cap - have);
            if (n < 0) {
                if (errno == EINTR) continue;
                std::fprintf(stderr, "simdjson_floor: read: %s\n", std::strerror(errno));
                return 1;
            }
            if (n == 0) eof = true;
            have += static_cast<size_t>(n);
        }
        // Whole lines only; at the end of the file, whatever is left.
        size_t upto = have;
        if (!eof) {
            const void *nl = memrchr(buf.data(), '\n', have);
            if (nl == nullptr) continue;
            upto = static_cast<size_t>(static_cast<const char *>(nl) - buf.data()) + 1;
        }
        if (upto > 0) {
            if (dom) scan_dom(dom_parser, buf.data(), upto, c);
            else scan_ondemand(od_parser, buf.data(), upto, c);
        }
        std::memmove(buf.data(), buf.data() + upto, have - upto);
        have -= upto;
        if (eof) break;
    }
    close(fd);
    std::printf("docs=%zu errors=%zu with_both=%zu console_logins=%zu impl=%s\n", c.docs,
                c.errors, c.with_both, c.console_logins,
                simdjson::get_active_implementation()->name().c_str());
    return 0;
}
