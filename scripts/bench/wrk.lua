-- The request and the percentiles for wrk in scripts/bench.sh: the method and form body come
-- from BENCH_METHOD and BENCH_BODY (the headers from wrk's -H), and `done` prints the latency
-- percentiles wrk's own --latency output lacks (p99.9) as "bench-latency-us P VALUE" lines,
-- which scripts/bench/report.py reads.
wrk.method = os.getenv("BENCH_METHOD") or "GET"
local body = os.getenv("BENCH_BODY") or ""
if body ~= "" then
  wrk.body = body
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
end

done = function(summary, latency, requests)
  for _, p in ipairs({ 50, 90, 99, 99.9 }) do
    io.write(string.format("bench-latency-us %g %d\n", p, latency:percentile(p)))
  end
  io.write(string.format("bench-latency-us max %d\n", latency.max))
end
