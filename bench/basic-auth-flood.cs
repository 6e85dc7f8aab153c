#:sdk Microsoft.NET.Sdk.Web
#:project ../src/IpsecExporter/IpsecExporter.csproj
// Measures basic auth under a flood of wrong passwords (figures in docs/PERFORMANCE.md):
//   dotnet run bench/basic-auth-flood.cs -- [SECONDS] [ATTACKERS]
// Good scrapes per second with remembered credentials, alone and while ATTACKERS clients send wrong passwords, and
// the median answer time for a wrong password and for an unknown user (both pay one bcrypt of cost 10).
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using IpsecExporter.Cli;
using IpsecExporter.Configuration;
using IpsecExporter.Diagnosis;
using IpsecExporter.Sources;
using IpsecExporter.Web;

var seconds = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 10;
var attackers = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 8;
var directory = Directory.CreateTempSubdirectory("auth-flood-").FullName;
var configPath = Path.Combine(directory, "ipsec.yaml");
File.WriteAllText(configPath, "site: { name: hq }\n");
var webPath = Path.Combine(directory, "web.yml");
File.WriteAllText(webPath, $"basic_auth_users:\n  prometheus: '{BCrypt.Net.BCrypt.HashPassword("correct horse", 10)}'\n");
var port = 19000 + Random.Shared.Next(1000);
var commandLine = new CommandLine(Command.Run, configPath, new IPEndPoint(IPAddress.Loopback, port), webPath, null, ReportFormat.Text);
var app = ExporterHost.Build(commandLine, new ConfigLoader(SaSourceRegistry.BuiltIn()).Load(configPath), WebConfig.Load(webPath));
await app.StartAsync();
using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/") };

var alone = await ScrapesPerSecondAsync(0);
var flooded = await ScrapesPerSecondAsync(attackers);
var wrongPassword = await MedianMsAsync("prometheus");
var unknownUser = await MedianMsAsync("nobody");
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"good scrapes/s alone: {alone:F0}"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"good scrapes/s with {attackers} clients sending wrong passwords: {flooded:F0}"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"median wrong password: {wrongPassword:F1} ms, median unknown user: {unknownUser:F1} ms"));
await app.StopAsync();
Directory.Delete(directory, true);

async Task<double> ScrapesPerSecondAsync(int flood)
{
    using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
    var attacks = Enumerable.Range(0, flood).Select(i => Task.Run(async () =>
    {
        while (!stop.IsCancellationRequested)
        {
            await SendAsync("prometheus", $"guess {i} {Random.Shared.Next()}");
        }
    })).ToList();
    var scrapes = 0;
    while (!stop.IsCancellationRequested)
    {
        if (await SendAsync("prometheus", "correct horse") == HttpStatusCode.OK)
        {
            scrapes++;
        }
    }

    await Task.WhenAll(attacks);
    return scrapes / (double)seconds;
}

async Task<double> MedianMsAsync(string user)
{
    var times = new List<double>();
    for (var i = 0; i < 21; i++)
    {
        var watch = Stopwatch.StartNew();
        await SendAsync(user, "wrong");
        times.Add(watch.Elapsed.TotalMilliseconds);
    }

    return times.Order().ElementAt(times.Count / 2);
}

async Task<HttpStatusCode> SendAsync(string user, string password)
{
    using var request = new HttpRequestMessage(HttpMethod.Get, "metrics");
    request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}")));
    using var response = await http.SendAsync(request);
    return response.StatusCode;
}
