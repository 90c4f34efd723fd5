-- wrk script of run-serving.sh: POSTs the body in the file named by $WRK_BODY (a GET when unset): JSON, or with
-- $WRK_HEADER_LENGTH a body of the binary tensor data extension (that many bytes of JSON header, then the tensor).
-- Ends with one line of key=value figures (latencies in ms) that ServingLoad's report reads.
local body_path = os.getenv("WRK_BODY")
if body_path and body_path ~= "" then
  local file = assert(io.open(body_path, "rb"))
  wrk.body = file:read("*a")
  file:close()
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  local header_length = os.getenv("WRK_HEADER_LENGTH")
  if header_length and header_length ~= "" then
    wrk.headers["Content-Type"] = "application/octet-stream"
    wrk.headers["Inference-Header-Content-Length"] = header_length
  end
end

function done(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format(
    "rps=%.1f requests=%d seconds=%.2f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f non2xx=%d errors=%d\n",
    summary.requests / seconds, summary.requests, seconds,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    e.status, e.connect + e.read + e.write + e.timeout))
end
