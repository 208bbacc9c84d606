import { describe, expect, it } from 'vitest';
import {
  ADMIN_BITS,
  classifyReply,
  effectiveAdminState,
  forcedAdminState,
  isOperational,
  isValidWeight,
  parseServersState,
  parseStatCsv,
  planServer,
  splitCsvLine,
  type ServerNow,
} from '../../src/roles/dbclient/lb/haproxy-parse.js';
import { LbError, type DesiredServer } from '../../src/roles/dbclient/lb/types.js';

// Real replies captured from HAProxy 2.6.12 (Debian 12) by the lab harness in
// test/lab/haproxy-lab.ts: three name servers on 127.0.0.51-53, `check` on, four clients on
// the read frontend, then `set server galera_read/n1 state drain`, `…/n3 state maint` and
// `…/n2 weight 50`. The 'disabled' pair comes from a backend with `server s1 … disabled`,
// before and after `set server b/s1 state ready`. Kept verbatim: the parsers must take them as is.

const STATE_FRESH =
  '1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port\n5 galera_read 1 n1 127.0.0.51 2 0 1 1 1 6 3 2 6 0 0 0 - 13306 - 0 0 - - 0\n5 galera_read 2 n2 127.0.0.52 2 0 1 1 1 6 3 2 6 0 0 0 - 13306 - 0 0 - - 0\n5 galera_read 3 n3 127.0.0.53 2 0 1 1 1 6 3 2 6 0 0 0 - 13306 - 0 0 - - 0\n\n';

const STAT_FRESH =
  '# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,rate_lim,rate_max,check_status,check_code,check_duration,hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other,hanafail,req_rate,req_rate_max,req_tot,cli_abrt,srv_abrt,comp_in,comp_out,comp_byp,comp_rsp,lastsess,last_chk,last_agt,qtime,ctime,rtime,ttime,agent_status,agent_code,agent_duration,check_desc,agent_desc,check_rise,check_fall,check_health,agent_rise,agent_fall,agent_health,addr,cookie,mode,algo,conn_rate,conn_rate_max,conn_tot,intercepted,dcon,dses,wrew,connect,reuse,cache_lookups,cache_hits,srv_icur,src_ilim,qtime_max,ctime_max,rtime_max,ttime_max,eint,idle_conn_cur,safe_conn_cur,used_conn_cur,need_conn_est,uweight,agg_server_status,agg_server_check_status,agg_check_status,-,ssl_sess,ssl_reused_sess,ssl_failed_handshake,h2_headers_rcvd,h2_data_rcvd,h2_settings_rcvd,h2_rst_stream_rcvd,h2_goaway_rcvd,h2_detected_conn_protocol_errors,h2_detected_strm_protocol_errors,h2_rst_stream_resp,h2_goaway_resp,h2_open_connections,h2_backend_open_streams,h2_total_connections,h2_backend_total_streams,h1_open_connections,h1_open_streams,h1_total_connections,h1_total_streams,h1_bytes_in,h1_bytes_out,h1_spliced_bytes_in,h1_spliced_bytes_out,\ngalera_read,n1,0,0,0,0,,0,0,0,,0,,0,0,0,0,UP,1,1,0,0,0,1,0,,1,5,1,,0,,2,0,,0,L4OK,,0,,,,,,,,,,,0,0,,,,,-1,,,0,0,0,0,,,,Layer4 check passed,,1,2,2,,,,127.0.0.51:13306,,tcp,,,,,,,,0,0,0,,,0,,0,0,0,0,0,0,0,0,1,1,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,\ngalera_read,n2,0,0,0,0,,0,0,0,,0,,0,0,0,0,UP,1,1,0,0,0,1,0,,1,5,2,,0,,2,0,,0,L4OK,,0,,,,,,,,,,,0,0,,,,,-1,,,0,0,0,0,,,,Layer4 check passed,,1,2,2,,,,127.0.0.52:13306,,tcp,,,,,,,,0,0,0,,,0,,0,0,0,0,0,0,0,0,1,1,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,\ngalera_read,n3,0,0,0,0,,0,0,0,,0,,0,0,0,0,UP,1,1,0,0,0,1,0,,1,5,3,,0,,2,0,,0,L4OK,,0,,,,,,,,,,,0,0,,,,,-1,,,0,0,0,0,,,,Layer4 check passed,,1,2,2,,,,127.0.0.53:13306,,tcp,,,,,,,,0,0,0,,,0,,0,0,0,0,0,0,0,0,1,1,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,\n\n';

const STATE_ALL_FRESH =
  '1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port\n4 galera_write 1 n1 127.0.0.51 2 0 1 1 1 6 3 2 6 0 0 0 - 13306 - 0 0 - - 0\n4 galera_write 2 n2 127.0.0.52 2 0 1 1 1 6 3 2 6 0 0 0 - 13306 - 0 0 - - 0\n4 galera_write 3 n3 127.0.0.53 2 0 1 1 1 6 3 2 6 0 0 0 - 13306 - 0 0 - - 0\n5 galera_read 1 n1 127.0.0.51 2 0 1 1 1 6 3 2 6 0 0 0 - 13306 - 0 0 - - 0\n5 galera_read 2 n2 127.0.0.52 2 0 1 1 1 6 3 2 6 0 0 0 - 13306 - 0 0 - - 0\n5 galera_read 3 n3 127.0.0.53 2 0 1 1 1 6 3 2 6 0 0 0 - 13306 - 0 0 - - 0\n\n';

const STATE_MIXED =
  '1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port\n5 galera_read 1 n1 127.0.0.51 2 8 1 1 0 6 3 2 6 0 0 0 - 13306 - 0 0 - - 0\n5 galera_read 2 n2 127.0.0.52 2 0 50 1 1 6 3 2 6 0 0 0 - 13306 - 0 0 - - 0\n5 galera_read 3 n3 127.0.0.53 0 1 1 1 0 6 3 0 14 0 0 0 - 13306 - 0 0 - - 0\n\n';

const STAT_MIXED =
  '# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,rate_lim,rate_max,check_status,check_code,check_duration,hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other,hanafail,req_rate,req_rate_max,req_tot,cli_abrt,srv_abrt,comp_in,comp_out,comp_byp,comp_rsp,lastsess,last_chk,last_agt,qtime,ctime,rtime,ttime,agent_status,agent_code,agent_duration,check_desc,agent_desc,check_rise,check_fall,check_health,agent_rise,agent_fall,agent_health,addr,cookie,mode,algo,conn_rate,conn_rate_max,conn_tot,intercepted,dcon,dses,wrew,connect,reuse,cache_lookups,cache_hits,srv_icur,src_ilim,qtime_max,ctime_max,rtime_max,ttime_max,eint,idle_conn_cur,safe_conn_cur,used_conn_cur,need_conn_est,uweight,agg_server_status,agg_server_check_status,agg_check_status,-,ssl_sess,ssl_reused_sess,ssl_failed_handshake,h2_headers_rcvd,h2_data_rcvd,h2_settings_rcvd,h2_rst_stream_rcvd,h2_goaway_rcvd,h2_detected_conn_protocol_errors,h2_detected_strm_protocol_errors,h2_rst_stream_resp,h2_goaway_resp,h2_open_connections,h2_backend_open_streams,h2_total_connections,h2_backend_total_streams,h1_open_connections,h1_open_streams,h1_total_connections,h1_total_streams,h1_bytes_in,h1_bytes_out,h1_spliced_bytes_in,h1_spliced_bytes_out,\ngalera_read,n1,0,0,2,2,,2,0,0,,0,,0,0,0,0,DRAIN,1,1,0,0,0,0,0,,1,5,1,,2,,2,2,,2,L4OK,,0,,,,,,,,,,,0,0,,,,,0,,,0,0,0,0,,,,Layer4 check passed,,1,2,2,,,,127.0.0.51:13306,,tcp,,,,,,,,0,2,0,,,0,,0,0,0,0,0,0,0,0,1,1,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,\ngalera_read,n2,0,0,1,1,,1,0,0,,0,,0,0,0,0,UP,50,1,0,0,0,1,0,,1,5,2,,1,,2,1,,1,L4OK,,0,,,,,,,,,,,0,0,,,,,0,,,0,0,0,0,,,,Layer4 check passed,,1,2,2,,,,127.0.0.52:13306,,tcp,,,,,,,,0,1,0,,,0,,0,0,0,0,0,0,0,0,1,50,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,\ngalera_read,n3,0,0,1,1,,1,0,0,,0,,0,0,0,0,MAINT,1,1,0,0,1,0,0,,1,5,3,,1,,2,1,,1,,,,,,,,,,,,,,0,0,,,,,0,,,0,0,0,0,,,,,,,,,,,,127.0.0.53:13306,,tcp,,,,,,,,0,1,0,,,0,,0,0,0,0,0,0,0,0,1,1,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,\n\n';

const STAT_ALL_MIXED =
  '# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,rate_lim,rate_max,check_status,check_code,check_duration,hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other,hanafail,req_rate,req_rate_max,req_tot,cli_abrt,srv_abrt,comp_in,comp_out,comp_byp,comp_rsp,lastsess,last_chk,last_agt,qtime,ctime,rtime,ttime,agent_status,agent_code,agent_duration,check_desc,agent_desc,check_rise,check_fall,check_health,agent_rise,agent_fall,agent_health,addr,cookie,mode,algo,conn_rate,conn_rate_max,conn_tot,intercepted,dcon,dses,wrew,connect,reuse,cache_lookups,cache_hits,srv_icur,src_ilim,qtime_max,ctime_max,rtime_max,ttime_max,eint,idle_conn_cur,safe_conn_cur,used_conn_cur,need_conn_est,uweight,agg_server_status,agg_server_check_status,agg_check_status,-,ssl_sess,ssl_reused_sess,ssl_failed_handshake,h2_headers_rcvd,h2_data_rcvd,h2_settings_rcvd,h2_rst_stream_rcvd,h2_goaway_rcvd,h2_detected_conn_protocol_errors,h2_detected_strm_protocol_errors,h2_rst_stream_resp,h2_goaway_resp,h2_open_connections,h2_backend_open_streams,h2_total_connections,h2_backend_total_streams,h1_open_connections,h1_open_streams,h1_total_connections,h1_total_streams,h1_bytes_in,h1_bytes_out,h1_spliced_bytes_in,h1_spliced_bytes_out,\ngalera_write_fe,FRONTEND,,,1,1,500,1,0,0,0,0,0,,,,,OPEN,,,,,,,,,1,2,0,,,,0,1,0,1,,,,,,,,,,,0,0,0,,,0,0,0,0,,,,,,,,,,,,,,,,,,,,,tcp,,1,1,1,,0,0,0,,,,,,,,,,,0,,,,,,,,,-,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,\ngalera_read_fe,FRONTEND,,,4,4,500,4,0,0,0,0,0,,,,,OPEN,,,,,,,,,1,3,0,,,,0,4,0,4,,,,,,,,,,,0,0,0,,,0,0,0,0,,,,,,,,,,,,,,,,,,,,,tcp,,4,4,4,,0,0,0,,,,,,,,,,,0,,,,,,,,,-,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,\ngalera_write,n1,0,0,1,1,,1,0,0,,0,,0,0,0,0,UP,1,1,0,0,0,1,0,,1,4,1,,1,,2,1,,1,L4OK,,0,,,,,,,,,,,0,0,,,,,0,,,0,0,0,0,,,,Layer4 check passed,,1,2,2,,,,127.0.0.51:13306,,tcp,,,,,,,,0,1,0,,,0,,0,0,0,0,0,0,0,0,1,1,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,\ngalera_write,n2,0,0,0,0,,0,0,0,,0,,0,0,0,0,UP,1,0,1,0,0,1,0,,1,4,2,,0,,2,0,,0,L4OK,,0,,,,,,,,,,,0,0,,,,,-1,,,0,0,0,0,,,,Layer4 check passed,,1,2,2,,,,127.0.0.52:13306,,tcp,,,,,,,,0,0,0,,,0,,0,0,0,0,0,0,0,0,1,1,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,\ngalera_write,n3,0,0,0,0,,0,0,0,,0,,0,0,0,0,UP,1,0,1,0,0,1,0,,1,4,3,,0,,2,0,,0,L4OK,,0,,,,,,,,,,,0,0,,,,,-1,,,0,0,0,0,,,,Layer4 check passed,,1,2,2,,,,127.0.0.53:13306,,tcp,,,,,,,,0,0,0,,,0,,0,0,0,0,0,0,0,0,1,1,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,\ngalera_write,BACKEND,0,0,1,1,50,1,0,0,0,0,,0,0,0,0,UP,1,1,2,,0,1,0,,1,4,0,,1,,1,1,,1,,,,,,,,,,,,,,0,0,0,0,0,0,0,,,0,0,0,0,,,,,,,,,,,,,,tcp,leastconn,,,,,,,0,1,0,,,,,0,0,0,0,0,,,,,1,0,0,0,-,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,\ngalera_read,n1,0,0,2,2,,2,0,0,,0,,0,0,0,0,DRAIN,1,1,0,0,0,0,0,,1,5,1,,2,,2,2,,2,L4OK,,0,,,,,,,,,,,0,0,,,,,0,,,0,0,0,0,,,,Layer4 check passed,,1,2,2,,,,127.0.0.51:13306,,tcp,,,,,,,,0,2,0,,,0,,0,0,0,0,0,0,0,0,1,1,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,\ngalera_read,n2,0,0,1,1,,1,0,0,,0,,0,0,0,0,UP,50,1,0,0,0,1,0,,1,5,2,,1,,2,1,,1,L4OK,,0,,,,,,,,,,,0,0,,,,,0,,,0,0,0,0,,,,Layer4 check passed,,1,2,2,,,,127.0.0.52:13306,,tcp,,,,,,,,0,1,0,,,0,,0,0,0,0,0,0,0,0,1,50,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,\ngalera_read,n3,0,0,1,1,,1,0,0,,0,,0,0,0,0,MAINT,1,1,0,0,1,0,0,,1,5,3,,1,,2,1,,1,,,,,,,,,,,,,,0,0,,,,,0,,,0,0,0,0,,,,,,,,,,,,127.0.0.53:13306,,tcp,,,,,,,,0,1,0,,,0,,0,0,0,0,0,0,0,0,1,1,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,\ngalera_read,BACKEND,0,0,4,4,50,4,0,0,0,0,,0,0,0,0,UP,50,1,0,,0,1,0,,1,5,0,,4,,1,4,,4,,,,,,,,,,,,,,0,0,0,0,0,0,0,,,0,0,0,0,,,,,,,,,,,,,,tcp,leastconn,,,,,,,0,4,0,,,,,0,0,0,0,0,,,,,50,0,0,0,-,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,\n\n';

const STATE_DISABLED =
  '1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port\n2 b 1 s1 127.0.0.51 0 5 1 1 0 1 0 0 8 0 0 0 - 13306 - 0 0 - - 0\n2 b 2 s2 127.0.0.52 2 0 1 1 0 1 0 2 0 0 0 0 - 13306 - 0 0 - - 0\n\n';

const STATE_DISABLED_THEN_READY =
  '1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port\n2 b 1 s1 127.0.0.51 2 4 1 1 0 1 0 0 8 0 0 0 - 13306 - 0 0 - - 0\n2 b 2 s2 127.0.0.52 2 0 1 1 0 1 0 2 0 0 0 0 - 13306 - 0 0 - - 0\n\n';

const REPLY_UNKNOWN_BACKEND_STATE = "Can't find backend.\n\n";
const REPLY_UNKNOWN_BACKEND_STAT = 'No such proxy.\n\n';
const REPLY_UNKNOWN_SERVER = 'No such server.\n\n';
const REPLY_BAD_WEIGHT = 'Absolute weight can only be between 0 and 256 inclusive.\n\n';
const REPLY_OK = '\n';

describe('parseServersState on real HAProxy 2.6 output', () => {
  it('reads a fresh backend: all running, no admin flags, weight 1', () => {
    const rows = parseServersState(STATE_FRESH);
    expect(rows).toEqual(['n1', 'n2', 'n3'].map((server) => ({ backend: 'galera_read', server, opState: 2, adminBits: 0, userWeight: 1 })));
  });

  it('reads every backend when none is named', () => {
    const rows = parseServersState(STATE_ALL_FRESH);
    expect(rows.map((r) => `${r.backend}/${r.server}`)).toEqual(['galera_write/n1', 'galera_write/n2', 'galera_write/n3', 'galera_read/n1', 'galera_read/n2', 'galera_read/n3']);
  });

  it('reads drain (0x08), maint (0x01, op state stopped) and a changed weight', () => {
    const [n1, n2, n3] = parseServersState(STATE_MIXED);
    expect(n1).toMatchObject({ server: 'n1', adminBits: ADMIN_BITS.FDRAIN, opState: 2, userWeight: 1 });
    expect(n2).toMatchObject({ server: 'n2', adminBits: 0, userWeight: 50 });
    expect(n3).toMatchObject({ server: 'n3', adminBits: ADMIN_BITS.FMAINT, opState: 0 });
  });

  it("reads a config-'disabled' server as maint, and as ready once the CLI readies it", () => {
    const [s1] = parseServersState(STATE_DISABLED);
    expect(s1?.adminBits).toBe(5);
    expect(effectiveAdminState(5)).toBe('maint');
    const [again] = parseServersState(STATE_DISABLED_THEN_READY);
    expect(again?.adminBits).toBe(4);
    expect(effectiveAdminState(4)).toBe('ready');
    expect(forcedAdminState(4)).toBe('ready');
  });

  it('finds columns by name, so a reordered or longer header still parses', () => {
    const text = '1\n# srv_name be_name srv_uweight srv_admin_state srv_op_state extra_col\nn7 bk 3 8 2 zz\n\n';
    expect(parseServersState(text)).toEqual([{ backend: 'bk', server: 'n7', opState: 2, adminBits: 8, userWeight: 3 }]);
  });

  it('rejects error replies and malformed output with LB_PROTOCOL', () => {
    for (const bad of [
      REPLY_UNKNOWN_BACKEND_STATE,
      '',
      'Permission denied\n\n',
      '1\nno header here\n',
      '1\n# be_name srv_name srv_op_state srv_admin_state\nb s 2 0\n', // no srv_uweight column
      STATE_FRESH.replace('127.0.0.51 2 0 1', '127.0.0.51 2 x 1'), // non-numeric admin state
      '1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight\n5 galera_read 1\n', // short row
    ]) {
      let caught: unknown;
      try {
        parseServersState(bad);
      } catch (err) {
        caught = err;
      }
      expect(caught, JSON.stringify(bad).slice(0, 60)).toBeInstanceOf(LbError);
      expect((caught as LbError).code).toBe('LB_PROTOCOL');
    }
  });
});

describe('parseStatCsv on real HAProxy 2.6 output', () => {
  it('reads sessions and status of each server of a filtered backend', () => {
    expect(parseStatCsv(STAT_FRESH)).toEqual(['n1', 'n2', 'n3'].map((server) => ({ backend: 'galera_read', server, sessions: 0, status: 'UP' })));
    expect(parseStatCsv(STAT_MIXED)).toEqual([
      { backend: 'galera_read', server: 'n1', sessions: 2, status: 'DRAIN' },
      { backend: 'galera_read', server: 'n2', sessions: 1, status: 'UP' },
      { backend: 'galera_read', server: 'n3', sessions: 1, status: 'MAINT' },
    ]);
  });

  it('skips FRONTEND and BACKEND rows of a whole `show stat`', () => {
    const rows = parseStatCsv(STAT_ALL_MIXED);
    expect(rows.map((r) => `${r.backend}/${r.server}`)).toEqual(['galera_write/n1', 'galera_write/n2', 'galera_write/n3', 'galera_read/n1', 'galera_read/n2', 'galera_read/n3']);
    expect(rows.find((r) => r.backend === 'galera_write' && r.server === 'n1')?.sessions).toBe(1);
  });

  it('rejects error replies and rows with a non-numeric scur', () => {
    expect(() => parseStatCsv(REPLY_UNKNOWN_BACKEND_STAT)).toThrow(LbError);
    expect(() => parseStatCsv('')).toThrow(/empty reply/);
    expect(() => parseStatCsv('# pxname,svname,scur,status\nb,s,lots,UP\n')).toThrow(/scur/);
    expect(() => parseStatCsv('# pxname,svname,status\nb,s,UP\n')).toThrow(/no 'scur' column/);
  });

  it('splits quoted CSV fields the way HAProxy writes them', () => {
    expect(splitCsvLine('a,"b,c",,"say ""hi"""')).toEqual(['a', 'b,c', '', 'say "hi"']);
  });
});

describe('reply classification', () => {
  it('tells success, a missing target and other refusals apart', () => {
    expect(classifyReply(REPLY_OK)).toBe('ok');
    expect(classifyReply(REPLY_UNKNOWN_SERVER)).toBe('unknown-target');
    expect(classifyReply(REPLY_UNKNOWN_BACKEND_STATE)).toBe('unknown-target');
    expect(classifyReply(REPLY_UNKNOWN_BACKEND_STAT)).toBe('unknown-target');
    expect(classifyReply(REPLY_BAD_WEIGHT)).toBe('error');
    expect(classifyReply('Unknown command: foo\n')).toBe('error');
  });
});

describe('state bits', () => {
  it('maps admin bits to the effective and the forced state', () => {
    expect(effectiveAdminState(0)).toBe('ready');
    expect(effectiveAdminState(ADMIN_BITS.FDRAIN)).toBe('drain');
    expect(effectiveAdminState(ADMIN_BITS.IDRAIN)).toBe('drain');
    expect(effectiveAdminState(ADMIN_BITS.FMAINT)).toBe('maint');
    expect(effectiveAdminState(ADMIN_BITS.IMAINT | ADMIN_BITS.FDRAIN)).toBe('maint');
    expect(effectiveAdminState(ADMIN_BITS.RMAINT)).toBe('maint');
    expect(effectiveAdminState(ADMIN_BITS.HMAINT)).toBe('ready');
    // Only the CLI-forced bits count for apply: inherited ones cannot be cleared by it.
    expect(forcedAdminState(ADMIN_BITS.IMAINT)).toBe('ready');
    expect(forcedAdminState(ADMIN_BITS.FMAINT)).toBe('maint');
    expect(forcedAdminState(ADMIN_BITS.FDRAIN | ADMIN_BITS.CMAINT)).toBe('drain');
  });

  it('counts running and slow-starting servers as operational', () => {
    expect([0, 1, 2, 3].map(isOperational)).toEqual([false, true, true, false]);
  });

  it('accepts only integer weights HAProxy accepts', () => {
    expect([0, 1, 256].every(isValidWeight)).toBe(true);
    expect([-1, 257, 1.5, Number.NaN].some(isValidWeight)).toBe(false);
  });
});

describe('planServer', () => {
  const now = (p: Partial<ServerNow> = {}): ServerNow => ({ adminBits: 0, opState: 2, userWeight: 1, sessions: 0, ...p });
  const want = (p: Partial<DesiredServer> = {}): DesiredServer => ({
    server: 'dbserver:1',
    state: 'ready',
    weight: 1,
    shutdownSessions: false,
    ...p,
  });

  it('sends nothing when HAProxy already matches', () => {
    expect(planServer('b', 's', now(), want())).toEqual([]);
    expect(planServer('b', 's', now({ adminBits: ADMIN_BITS.FDRAIN }), want({ state: 'drain' }))).toEqual([]);
    expect(planServer('b', 's', now({ adminBits: ADMIN_BITS.FMAINT, sessions: 0 }), want({ state: 'maint', shutdownSessions: true }))).toEqual([]);
  });

  it('leaving service: state, then weight, then the session shutdown', () => {
    expect(planServer('b', 's', now({ sessions: 3 }), want({ state: 'maint', weight: 0, shutdownSessions: true }))).toEqual([
      'set server b/s state maint',
      'set server b/s weight 0',
      'shutdown sessions server b/s',
    ]);
  });

  it('entering service: weight first, then state', () => {
    expect(planServer('b', 's', now({ adminBits: ADMIN_BITS.FMAINT, userWeight: 0 }), want({ weight: 10 }))).toEqual(['set server b/s weight 10', 'set server b/s state ready']);
  });

  it('never cuts sessions of a server that stays ready, nor of one that has none', () => {
    expect(planServer('b', 's', now({ sessions: 5 }), want({ shutdownSessions: true }))).toEqual([]);
    expect(planServer('b', 's', now({ adminBits: ADMIN_BITS.FDRAIN }), want({ state: 'drain', shutdownSessions: true }))).toEqual([]);
  });

  it('compares with forced bits, so an inherited maint does not resend forever', () => {
    expect(planServer('b', 's', now({ adminBits: ADMIN_BITS.IMAINT }), want())).toEqual([]);
    expect(planServer('b', 's', now({ adminBits: 4 }), want())).toEqual([]);
  });
});
