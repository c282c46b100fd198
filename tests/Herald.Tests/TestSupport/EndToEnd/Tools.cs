namespace Herald.Tests.TestSupport.EndToEnd;

/// <summary>
/// Locates the third-party tools the end-to-end tests drive. A missing tool FAILS the test
/// (never skips it): the suite must run the real peers on CI.
/// </summary>
public static class Tools
{
    public static string Curl => Require("curl", "curl");

    public static string H2load => Require("h2load", "nghttp2-client");

    public static string Nghttp => Require("nghttp", "nghttp2-client");

    public static string Nginx => Require("nginx", "nginx-light", "/usr/sbin/nginx");

    public static string Openssl => Require("openssl", "openssl");

    public static string Node => Require("node", "nodejs");

    public static string Npm => Require("npm", "npm");

    public static string Etcd => Require("etcd", "etcd-server", "/usr/bin/etcd");

    public static string Dnsmasq => Require("dnsmasq", "dnsmasq", "/usr/sbin/dnsmasq");

    /// <summary>The dotnet host: under <c>dotnet test</c> the one that runs the tests.</summary>
    public static string DotnetHost()
    {
        var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (!string.IsNullOrEmpty(host) && File.Exists(host))
        {
            return host;
        }

        var current = Environment.ProcessPath;
        if (current is not null && Path.GetFileNameWithoutExtension(current) == "dotnet")
        {
            return current;
        }

        return Find("dotnet") ?? "dotnet";
    }

    /// <summary>Path of <paramref name="name"/> on PATH (or one of <paramref name="extraPaths"/>), or null.</summary>
    public static string? Find(string name, params string[] extraPaths)
    {
        var path = Environment.GetEnvironmentVariable("PATH") ?? string.Empty;
        foreach (var dir in path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        foreach (var candidate in extraPaths)
        {
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    private static string Require(string name, string debianPackage, params string[] extraPaths) =>
        Find(name, extraPaths) ?? throw new InvalidOperationException(
            $"'{name}' was not found on PATH. The end-to-end tests need it: run the install step of .ci/run " +
            $"(it installs the Debian package '{debianPackage}'), then run the tests again.");
}
