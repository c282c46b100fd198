using System.Net.Sockets;

namespace Herald.Tests.TestSupport.EndToEnd;

/// <summary>
/// Debian's nginx as an upstream: a temp prefix with its own config, pid and temp paths,
/// <c>daemon off;</c>, on a free 127.0.0.1 port. GET / answers <see cref="Body"/>;
/// /big answers 1 MiB from a file. Killed on dispose.
/// </summary>
public sealed class NginxUpstream : IAsyncDisposable
{
    public const string Body = "hello from nginx\n";
    public const int BigSize = 1024 * 1024;

    private readonly ChildProcess _child;
    private readonly DirectoryInfo _dir;

    private NginxUpstream(ChildProcess child, DirectoryInfo dir, int port)
    {
        _child = child;
        _dir = dir;
        Port = port;
    }

    public int Port { get; }

    public string Url => $"http://127.0.0.1:{Port}";

    public static async Task<NginxUpstream> StartAsync()
    {
        var nginx = Tools.Nginx;
        for (var attempt = 1; ; attempt++)
        {
            var dir = Directory.CreateTempSubdirectory("herald-e2e-nginx-");
            var port = FreePort.Next();
            await WriteConfigAsync(dir.FullName, port);
            var child = ChildProcess.Start(
                nginx,
                ["-p", dir.FullName + "/", "-c", Path.Combine(dir.FullName, "nginx.conf"), "-e", Path.Combine(dir.FullName, "error.log")]);
            var upstream = new NginxUpstream(child, dir, port);
            try
            {
                await upstream.WaitListeningAsync();
                return upstream;
            }
            catch (Exception) when (attempt == 1 && child.HasExited && upstream.ErrorLog().Contains("in use", StringComparison.Ordinal))
            {
                await upstream.DisposeAsync();
            }
            catch
            {
                await upstream.DisposeAsync();
                throw;
            }
        }
    }

    public ValueTask DisposeAsync()
    {
        _child.Dispose();
        try
        {
            _dir.Delete(recursive: true);
        }
        catch (IOException)
        {
            // Left behind: harmless.
        }

        return ValueTask.CompletedTask;
    }

    private string ErrorLog()
    {
        var path = Path.Combine(_dir.FullName, "error.log");
        return File.Exists(path) ? File.ReadAllText(path) : string.Empty;
    }

    private async Task WaitListeningAsync()
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (DateTime.UtcNow < deadline)
        {
            if (_child.HasExited)
            {
                break;
            }

            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync("127.0.0.1", Port);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(50);
            }
        }

        throw new InvalidOperationException($"nginx did not listen on {Port}.\n{_child.Transcript()}\n--- error.log ---\n{ErrorLog()}");
    }

    private static async Task WriteConfigAsync(string dir, int port)
    {
        foreach (var sub in new[] { "temp", "html" })
        {
            Directory.CreateDirectory(Path.Combine(dir, sub));
        }

        await File.WriteAllBytesAsync(Path.Combine(dir, "html", "big"), new byte[BigSize]);
        // nginx refuses `user` when not root, and needs it as root (its default user may not exist).
        var user = Environment.UserName == "root" ? "user root;" : string.Empty;
        var temp = Path.Combine(dir, "temp");
        var config = $$"""
            daemon off;
            master_process on;
            worker_processes 1;
            {{user}}
            pid {{dir}}/nginx.pid;
            error_log {{dir}}/error.log warn;
            events { worker_connections 256; }
            http {
                access_log off;
                client_body_temp_path {{temp}}/client_body;
                proxy_temp_path {{temp}}/proxy;
                fastcgi_temp_path {{temp}}/fastcgi;
                uwsgi_temp_path {{temp}}/uwsgi;
                scgi_temp_path {{temp}}/scgi;
                server {
                    listen 127.0.0.1:{{port}};
                    root {{dir}}/html;
                    location = / {
                        default_type text/plain;
                        return 200 "{{Body.Replace("\n", "\\n", StringComparison.Ordinal)}}";
                    }
                    location = /big {
                        default_type application/octet-stream;
                    }
                }
            }
            """;
        await File.WriteAllTextAsync(Path.Combine(dir, "nginx.conf"), config);
    }
}
