using System.Buffers;
using System.IO.Pipelines;
using System.Reflection;
using BenchmarkDotNet.Attributes;
using Herald.Proxy.Http.Http1;
using Herald.Proxy.Http.Routing;
using CorePb = Envoy.Config.Core.V3;
using Pb = Envoy.Config.Route.V3;

namespace Herald.Benchmarks;

/// <summary>
/// A route's request header rewrite, as a sidecar's routes carry one
/// (<c>request_headers_to_add</c> overwrite and append, <c>request_headers_to_remove</c>),
/// translated from xDS and applied to a parsed browser head: for every header the relay asks
/// Http1Connection's own check whether a mutation drops it (called through a delegate,
/// it is private), copies the others, then writes the added headers that apply.
/// </summary>
[MemoryDiagnoser]
public class HeaderRewriteBenchmarks
{
    private delegate bool RemovedCheck(HeaderMutations mutations, ReadOnlySpan<byte> name);

    private readonly Pipe _pipe = BenchPipe.Create();
    private RemovedCheck _isRemovedOrOverwritten = null!;
    private HeaderMutations _mutations = null!;
    private Http1RequestHead _browser = null!;

    [GlobalSetup]
    public void Setup()
    {
        var method = typeof(Http1Connection).GetMethod("IsRemovedOrOverwritten", BindingFlags.NonPublic | BindingFlags.Static)
            ?? throw new InvalidOperationException("Http1Connection.IsRemovedOrOverwritten is gone: update this benchmark");
        _isRemovedOrOverwritten = method.CreateDelegate<RemovedCheck>();
        _browser = SampleRequests.Parse(SampleRequests.Browser);
        var table = RouteTable.Translate(BuildRouteConfiguration(), "route_config");
        _mutations = table.Match(_browser)?.RequestHeaderMutations
            ?? throw new InvalidOperationException("the bench route did not match");
        var (written, expected) = (Rewrite(), Expected());
        if (written != expected)
        {
            throw new InvalidOperationException($"the rewrite wrote {written} bytes, not the {expected} of the head less Connection and Cookie plus two added headers");
        }
    }

    [Benchmark(Description = "request header rewrite (2 added, 1 removed), browser head")]
    public long Rewrite()
    {
        var writer = _pipe.Writer;
        var head = _browser;
        var headers = head.Headers;
        for (var i = 0; i < headers.Length; i++)
        {
            ref var header = ref headers[i];
            if (header.Kind is HeaderKind.Connection || _isRemovedOrOverwritten(_mutations, head.NameOf(header)))
            {
                continue;
            }

            writer.Write(head.LineOf(header));
        }

        // The same walk as Http1Connection.WriteAddedHeaders.
        foreach (var added in _mutations.Add)
        {
            var exists = head.TryGetHeader(added.NameBytes, out _);
            if (added.Action == HeaderAppendAction.AddIfAbsent && exists)
            {
                continue;
            }

            writer.Write(added.NameBytes);
            writer.Write(": "u8);
            writer.Write(added.ValueBytes);
            writer.Write("\r\n"u8);
        }

        writer.Write("\r\n"u8);
        return BenchPipe.FlushAndDrain(_pipe);
    }

    /// <summary>The browser head's header lines less Connection and Cookie, plus the two added ones.</summary>
    private long Expected()
    {
        long length = 2;
        foreach (var header in _browser.Headers)
        {
            if (header.Kind is not HeaderKind.Connection && !System.Text.Ascii.EqualsIgnoreCase(_browser.NameOf(header), "cookie"u8))
            {
                length += _browser.LineOf(header).Length;
            }
        }

        return length + "x-herald-source-workload: shop-frontend\r\n".Length + "x-bench: 1\r\n".Length;
    }

    private static Pb.RouteConfiguration BuildRouteConfiguration()
    {
        var config = new Pb.RouteConfiguration { Name = "bench" };
        config.RequestHeadersToAdd.Add(new CorePb.HeaderValueOption
        {
            Header = new CorePb.HeaderValue { Key = "x-herald-source-workload", Value = "shop-frontend" },
            AppendAction = CorePb.HeaderValueOption.Types.HeaderAppendAction.OverwriteIfExistsOrAdd,
        });
        config.RequestHeadersToRemove.Add("cookie");
        var host = new Pb.VirtualHost { Name = "shop" };
        host.Domains.Add("*");
        host.RequestHeadersToAdd.Add(new CorePb.HeaderValueOption
        {
            Header = new CorePb.HeaderValue { Key = "x-bench", Value = "1" },
            AppendAction = CorePb.HeaderValueOption.Types.HeaderAppendAction.AppendIfExistsOrAdd,
        });
        host.Routes.Add(new Pb.Route
        {
            Name = "all",
            Match = new Pb.RouteMatch { Prefix = "/" },
            Route_ = new Pb.RouteAction { Cluster = "shop" },
        });
        config.VirtualHosts.Add(host);
        return config;
    }
}
