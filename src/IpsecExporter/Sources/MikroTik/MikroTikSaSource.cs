using System.Net.Http.Headers;
using System.Text;
using IpsecExporter.Sources.Http;

namespace IpsecExporter.Sources.MikroTik;

/// <summary>
/// Reads a RouterOS 7 router's SAs over the REST API (GETs only, HTTP basic auth): active peers, policies and installed
/// SAs. Every request names the properties it wants (<c>.proplist</c>), so the SAs' encryption and authentication keys
/// never leave the router. The password is read from its file or variable on every collection.
/// </summary>
public sealed class MikroTikSaSource : ISaSource
{
    public const string ActivePeersPath = "rest/ip/ipsec/active-peers?.proplist=.id,local-address,remote-address,state,uptime,spii,spir";
    public const string PoliciesPath = "rest/ip/ipsec/policy?.proplist=.id,peer,src-address,dst-address,sa-src-address,sa-dst-address,action,template,disabled,invalid,ph2-state";
    public const string InstalledSasPath = "rest/ip/ipsec/installed-sa?.proplist=.id,spi,src-address,dst-address,state,current-bytes,current-packets,expires-in";

    private readonly HttpSourceClient _client;
    private readonly string _username;
    private readonly SecretReference _password;
    private readonly TimeProvider _time;
    private readonly SaCounterLedger _ledger = new();

    public MikroTikSaSource(HttpSourceClient client, string username, SecretReference password, TimeProvider time)
    {
        _client = client;
        _username = username;
        _password = password;
        _time = time;
    }

    public async Task<SaSnapshot> CollectAsync(CancellationToken cancellationToken)
    {
        var credentials = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{_username}:{_password.Read()}")));
        var peers = MikroTikSaMapper.ParsePeers(await GetAsync(ActivePeersPath, credentials, cancellationToken), "/ip/ipsec/active-peers");
        var policies = MikroTikSaMapper.ParsePolicies(await GetAsync(PoliciesPath, credentials, cancellationToken), "/ip/ipsec/policy");
        var sas = MikroTikSaMapper.ParseSas(await GetAsync(InstalledSasPath, credentials, cancellationToken), "/ip/ipsec/installed-sa");
        return MikroTikSaMapper.Map(_time.GetUtcNow(), peers, policies, sas, _ledger);
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private Task<string> GetAsync(string path, AuthenticationHeaderValue credentials, CancellationToken cancellationToken) =>
        _client.GetStringAsync(path, request => request.Headers.Authorization = credentials, cancellationToken);
}
