namespace Herald.Tests.TestSupport.EndToEnd;

/// <summary>HttpClient instances for the tests: no proxy, no redirects, no cookies, no decompression.</summary>
public static class TestHttp
{
    public static HttpClient CreateClient(int maxConnections = 16, TimeSpan? timeout = null) =>
        new(new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            UseCookies = false,
            AutomaticDecompression = System.Net.DecompressionMethods.None,
            MaxConnectionsPerServer = maxConnections,
            ConnectTimeout = TimeSpan.FromSeconds(5),
        })
        {
            Timeout = timeout ?? TimeSpan.FromSeconds(30),
        };
}
