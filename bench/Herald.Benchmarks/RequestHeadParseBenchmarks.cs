using System.Buffers;
using BenchmarkDotNet.Attributes;
using Herald.Proxy.Http.Http1;

namespace Herald.Benchmarks;

/// <summary>Parsing an HTTP/1.1 request head from the connection's buffer (one head object reused per connection, as the proxy does).</summary>
[MemoryDiagnoser]
public class RequestHeadParseBenchmarks
{
    private readonly Http1RequestHead _head = new(60 * 1024, 100);
    private ReadOnlySequence<byte> _browser;
    private ReadOnlySequence<byte> _curl;

    [GlobalSetup]
    public void Setup()
    {
        _browser = new ReadOnlySequence<byte>(SampleRequests.Browser);
        _curl = new ReadOnlySequence<byte>(SampleRequests.Curl);
        _ = SampleRequests.Parse(SampleRequests.Browser);
        _ = SampleRequests.Parse(SampleRequests.Curl);
    }

    [Benchmark(Description = "parse browser head (~300 B, 7 headers)")]
    public int ParseBrowser()
    {
        return _head.TryParse(in _browser, out var length) ? length : -1;
    }

    [Benchmark(Description = "parse curl head (3 headers)")]
    public int ParseCurl()
    {
        return _head.TryParse(in _curl, out var length) ? length : -1;
    }
}
