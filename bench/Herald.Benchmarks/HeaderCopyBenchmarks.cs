using System.Buffers;
using System.IO.Pipelines;
using BenchmarkDotNet.Attributes;
using Herald.Proxy.Http.Http1;

namespace Herald.Benchmarks;

/// <summary>
/// The relay's header copy: what writing a request head upstream costs per header. The
/// proxy's own writer (Http1Connection.WriteRequestHead) is private, so this runs its public
/// building blocks the same way: classify each parsed header name, drop hop-by-hop headers,
/// copy every other header line as it arrived into a PipeWriter, add x-forwarded-proto, flush.
/// </summary>
[MemoryDiagnoser]
public class HeaderCopyBenchmarks
{
    private readonly Pipe _pipe = BenchPipe.Create();
    private Http1RequestHead _browser = null!;
    private Http1RequestHead _curl = null!;

    [GlobalSetup]
    public void Setup()
    {
        _browser = SampleRequests.Parse(SampleRequests.Browser);
        _curl = SampleRequests.Parse(SampleRequests.Curl);
    }

    [Benchmark(Description = "relay header copy, browser head")]
    public long CopyBrowser() => Copy(_browser);

    [Benchmark(Description = "relay header copy, curl head")]
    public long CopyCurl() => Copy(_curl);

    private long Copy(Http1RequestHead head)
    {
        var writer = _pipe.Writer;
        writer.Write(head.Method);
        writer.Write(" "u8);
        writer.Write(head.PathAndQuery);
        writer.Write(" HTTP/1.1\r\n"u8);
        var headers = head.Headers;
        for (var i = 0; i < headers.Length; i++)
        {
            ref var header = ref headers[i];
            switch (HeaderNames.Classify(head.NameOf(header)))
            {
                case HeaderKind.Connection:
                case HeaderKind.KeepAlive:
                case HeaderKind.ProxyConnection:
                case HeaderKind.Http2Settings:
                case HeaderKind.Upgrade:
                    continue;
                default:
                    writer.Write(head.LineOf(header));
                    break;
            }
        }

        writer.Write("x-forwarded-proto: http\r\n\r\n"u8);
        return BenchPipe.FlushAndDrain(_pipe);
    }
}
