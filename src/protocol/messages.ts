// The protocol's messages as TypeScript types: the JSON form of proto/emostream.proto
// ({ type: <oneof field>, ...fields in lowerCamelCase }). Shared by server and client.

import type { PcmFormat, WireFormat } from '../ingest/types.js';

export type { PcmFormat, WireFormat };

export const SUBPROTOCOL_JSON = 'emostream.v1.json';
export const SUBPROTOCOL_PROTO = 'emostream.v1.proto';
export type Encoding = 'json' | 'proto';

export interface SmoothingSettings {
  timeConstantMs?: number;
  margin?: number;
  dwellMs?: number;
  minSpeech?: number;
  firstEventSpeechMs?: number;
  vadThresholdDb?: number;
  vadMinDbfs?: number;
}

/** "mix": channels averaged into one track; "separate": one track per channel. */
export type ChannelMode = 'mix' | 'separate';

export interface StartMsg {
  type: 'start';
  session?: string;
  audio: WireFormat;
  channelMode?: ChannelMode;
  hopMs?: number;
  minWindowMs?: number;
  posteriors?: boolean;
  smoothing?: SmoothingSettings;
}
export interface AudioMsg {
  type: 'audio';
  data: Uint8Array;
}
export interface FlushMsg {
  type: 'flush';
}
export interface StopMsg {
  type: 'stop';
}
export interface PingMsg {
  type: 'ping';
  id?: string;
}
export type ClientMessage = StartMsg | AudioMsg | FlushMsg | StopMsg | PingMsg;

export interface ReadyMsg {
  type: 'ready';
  session: string;
  model: string;
  labels: string[];
  windowMs: number;
  hopMs: number;
  backend: string;
  /** To the publisher, when the server has tokens: subscribes to this session only. */
  subscribeToken?: string;
}
export interface PosteriorMsg {
  type: 'posterior';
  seq: number;
  startMs: number;
  endMs: number;
  probs: Record<string, number>;
  speech: number;
  computeMs: number;
  latencyMs: number;
  batchSize: number;
  /** The track: 0 for mixed audio, else the channel (channelMode "separate"). */
  channel: number;
}
export type EmotionKind = 'start' | 'change' | 'end';
export interface EmotionMsg {
  type: 'emotion';
  kind: EmotionKind;
  label: string;
  confidence: number;
  atMs: number;
  previous?: string;
  channel: number;
}
/** One speech turn scored as an utterance (proto Utterance). */
export interface UtteranceMsg {
  type: 'utterance';
  startMs: number;
  endMs: number;
  label: string;
  confidence: number;
  probs: Record<string, number>;
  channel: number;
  windows: number;
  latencyMs: number;
}
export interface SpeechMsg {
  type: 'speech';
  active: boolean;
  atMs: number;
  channel: number;
}
export interface ErrorMsg {
  type: 'error';
  code: string;
  message: string;
  fatal: boolean;
  skipped?: number;
}
export interface EndMsg {
  type: 'end';
  windows: number;
  audioMs: number;
  skipped: number;
}
export interface PongMsg {
  type: 'pong';
  id: string;
}
export type ServerMessage = ReadyMsg | PosteriorMsg | EmotionMsg | SpeechMsg | UtteranceMsg | ErrorMsg | EndMsg | PongMsg;
